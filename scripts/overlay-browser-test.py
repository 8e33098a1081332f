#!/usr/bin/env python3
"""The OBS overlays in a real browser (headless Chromium from Debian, driven by Selenium).

Starts a real `tally serve`, opens each overlay page as OBS would, causes an update with an
operator command, and checks the rendered DOM shows it; a raffle draw's overlay must land on the
same winner as the API. Screenshots go to the artifact directory. Exit 0 when every check holds.

Usage: overlay-browser-test.py TALLY_BINARY ARTIFACT_DIR
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

TALLY, ARTIFACTS = sys.argv[1], sys.argv[2]
os.makedirs(ARTIFACTS, exist_ok=True)
GUILD = "5033164800000000777"
TOKEN = "overlay-browser-test"
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    PORT = s.getsockname()[1]
BASE = f"http://127.0.0.1:{PORT}"
work = tempfile.mkdtemp(prefix="tally-overlay-")
log = open(os.path.join(ARTIFACTS, "serve.log"), "w")
server = subprocess.Popen(
    [TALLY, "serve", "--data", work + "/data", "--port", str(PORT), "--log-level", "warning"],
    env={**os.environ, "TALLY_OPERATOR_TOKEN": TOKEN}, stdout=log, stderr=log)


def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(BASE + path, data=data, method=method,
                               headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


keys = iter(range(1, 10**6))


def command(**fields):
    status, body = request("POST", f"/v1/guilds/{GUILD}/commands", {"key": f"browser-{next(keys)}", **fields})
    return status, body


driver = None
try:
    for _ in range(150):
        try:
            urllib.request.urlopen(BASE + "/health", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    command(type="record_chat_activity", kick_user_id=1, username="alice")
    command(type="record_chat_activity", kick_user_id=2, username="bob")
    urls = dict(line.split("\t") for line in subprocess.check_output(
        [TALLY, "overlay", "urls", "--data", work + "/data", "--guild", GUILD, "--public-url", BASE],
        text=True).split("\n") if line)

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=800,600",
                 "--disable-dev-shm-usage"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)

    def wait_for(condition, what, seconds=15):
        end = time.time() + seconds
        while time.time() < end:
            if condition():
                return True
            time.sleep(0.1)
        check(False, what)
        return False

    def body_text():
        return driver.find_element("id", "body").text

    # Leaderboard: a first view, then the update a command causes.
    command(type="adjust_points", person="kick:1", delta=500, reason="browser test")
    driver.get(urls["leaderboard"] + "&theme=light&size=large")
    check(driver.execute_script("return getComputedStyle(document.body).backgroundColor") == "rgba(0, 0, 0, 0)",
          "the page's background is transparent")
    check(driver.execute_script(
        "return [...document.querySelectorAll('[src],[href],link,img')].length") == 0, "no external asset")
    wait_for(lambda: "alice — 500" in body_text(), "the leaderboard shows alice's 500 points")
    command(type="adjust_points", person="kick:2", delta=900, reason="browser test")
    if wait_for(lambda: "bob — 900" in body_text(), "the leaderboard shows bob's 900 points after the command"):
        items = [li.text for li in driver.find_elements("css selector", "#body li")]
        check(items[:2] == ["bob — 900", "alice — 500"], f"bob is first, then alice: {items}")
    driver.save_screenshot(os.path.join(ARTIFACTS, "leaderboard.png"))

    # Slot requests and guess the balance: opening them is an update each page shows.
    driver.get(urls["slots"])
    wait_for(lambda: "Closed" in body_text() or "…" not in body_text(), "the slot overlay renders")
    command(type="open_slot_queue")
    wait_for(lambda: "Open: type !sr" in body_text(), "the slot overlay shows the queue opened")
    driver.save_screenshot(os.path.join(ARTIFACTS, "slots.png"))
    driver.get(urls["guesses"])
    command(type="open_guess")
    wait_for(lambda: "Open: type !guess" in body_text(), "the guess overlay shows guessing opened")
    command(type="resolve_guess", result="1,234.56")
    wait_for(lambda: "Balance: 1,234.56" in body_text(), "the guess overlay shows the result")
    driver.save_screenshot(os.path.join(ARTIFACTS, "guesses.png"))

    # The draw: a period that ends in 3 s, tickets, the close, the beacon once its round is out, then
    # the draw with the page open: the animation must land on the API's winner.
    now = int(time.time() * 1000)
    status, _ = command(type="open_raffle_period", starts_at=now - 1000, ends_at=now + 3000)
    check(status == 200, f"the raffle period opened ({status})")
    command(type="grant_tickets", person="kick:1", amount=10, reason="browser test")
    command(type="grant_tickets", person="kick:2", amount=30, reason="browser test")
    time.sleep(3.5)
    command(type="close_raffle_period")  # the timer may have closed it already (409)
    status, period = request("GET", f"/v1/guilds/{GUILD}/raffle/periods/1")
    beacon_round = period["beacon"]["round"]
    for _ in range(90):
        status, answer = command(type="record_beacon", round=beacon_round, randomness="ab" * 32)
        if status == 200:
            break
        time.sleep(1)
    check(status == 200, f"the beacon recorded ({status} {answer})")
    driver.get(urls["draw"])
    wait_for(lambda: "No draw yet" in body_text(), "the draw overlay waits for a draw")
    status, drawn = command(type="draw_raffle")
    check(status == 200, f"the draw was made ({status})")
    status, draw = request("GET", f"/v1/guilds/{GUILD}/raffle/draws/1:1")
    expected = {"kick:1": "alice", "kick:2": "bob"}.get(draw.get("winner"), draw.get("winner"))
    time.sleep(0.3)
    spinning = driver.execute_script("return document.body.dataset.winner")
    check(spinning == "", "the overlay animates before it lands")
    if wait_for(lambda: driver.execute_script("return document.body.dataset.winner") not in (None, ""),
                "the draw overlay lands on a winner"):
        shown = driver.execute_script("return document.body.dataset.winner")
        check(shown == expected, f"the overlay's winner ({shown}) is the API's ({expected})")
        check(f"/v1/guilds/{GUILD}/raffle/draws/1:1" in body_text(), "the overlay shows the verification link")
    driver.save_screenshot(os.path.join(ARTIFACTS, "draw.png"))
finally:
    if driver:
        driver.quit()
    server.terminate()
    server.wait(timeout=30)

print("overlay browser test: " + ("PASSED" if not failures else f"FAILED ({len(failures)})"))
sys.exit(1 if failures else 0)
