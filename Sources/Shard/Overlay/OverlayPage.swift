import EventLog
import Hummingbird

/// The HTML of an overlay page: everything inline (OBS often runs without the internet), a
/// transparent background, and a script that renders the views ``OverlayServer`` pushes. Data is
/// only ever set as text, never as HTML, so a viewer's name cannot inject markup.
enum OverlayPage {
    /// A page's looks and contents, from its query parameters (each checked against a fixed list, so
    /// nothing from the query reaches the page unchecked).
    struct Options: Sendable {
        /// `dark` (light text for dark scenes, the default) or `light`.
        var theme = "dark"
        /// `small`, `medium` (default) or `large`.
        var size = "medium"
        var board = "points"
        var rows = 10

        init(query: Parameters) throws {
            if let theme = query["theme"].map(String.init) {
                guard ["dark", "light"].contains(theme) else { throw APIError(.invalidValue, "theme is dark or light") }
                self.theme = theme
            }
            if let size = query["size"].map(String.init) {
                guard ["small", "medium", "large"].contains(size) else {
                    throw APIError(.invalidValue, "size is small, medium or large")
                }
                self.size = size
            }
            if let board = query["board"].map(String.init) {
                guard ["points", "watchtime"].contains(board) else {
                    throw APIError(.invalidValue, "board is points or watchtime")
                }
                self.board = board
            }
            if let text = query["rows"] {
                guard let rows = Int(text), (1...25).contains(rows) else {
                    throw APIError(.invalidValue, "rows is 1 to 25")
                }
                self.rows = rows
            }
        }
    }

    static func html(guild: GuildID, kind: OverlayKind, key: String, options: Options) -> String {
        let font = ["small": 14, "medium": 20, "large": 28][options.size] ?? 20
        let (text, shade, accent) =
            options.theme == "light"
            ? ("#111", "rgba(255,255,255,.75)", "#0a7d32") : ("#fff", "rgba(0,0,0,.55)", "#53fc18")
        let stream =
            "/overlay/\(guild)/\(kind.name)/events?key=\(key)&board=\(options.board)&rows=\(options.rows)"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Tally — \(kind.title)</title>
            <style>
            html,body{margin:0;background:transparent;color:\(text);font:600 \(font)px/1.35 system-ui,sans-serif}
            #root{display:inline-block;padding:.6em .9em;background:\(shade);border-radius:.5em;min-width:12em}
            h1{font-size:1.1em;margin:0 0 .3em;color:\(accent)}
            ol{margin:0;padding-left:1.6em} li{margin:.1em 0} .muted{opacity:.7;font-size:.8em}
            .winner{font-size:1.6em;color:\(accent)} .spin{font-size:1.6em;opacity:.85}
            </style></head>
            <body data-kind="\(kind.name)"><div id="root"><h1>\(kind.title)</h1><div id="body" class="muted">…</div></div>
            <script>
            "use strict";
            const kind = "\(kind.name)", body = document.getElementById("body");
            let shownDraw = null, firstView = true, spinning = null;
            function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
            function list(items, line) { const ol = el("ol"); for (const item of items) ol.appendChild(el("li", line(item))); return ol; }
            function show(...nodes) { body.replaceChildren(...nodes); body.className = ""; }
            function landed(d) {
              document.body.dataset.winner = d.winner;
              show(el("div", d.winner, "winner"), el("div", d.winnerTickets + " of " + d.totalTickets + " tickets"),
                   el("div", "Verify: " + d.verify, "muted"));
            }
            function render(v) {
              if (kind === "draw") {
                if (!v.draw) { show(el("div", "No draw yet.", "muted")); return; }
                if (v.draw.id === shownDraw) return;
                shownDraw = v.draw.id;
                if (firstView || !v.names || v.names.length < 2) { landed(v.draw); return; }
                // A new draw: run through the names, slowing down, and land on the real winner.
                if (spinning) clearTimeout(spinning);
                document.body.dataset.winner = "";
                let i = 0, delay = 40;
                const step = () => {
                  show(el("div", v.names[i++ % v.names.length], "spin"));
                  delay *= 1.12;
                  spinning = delay < 420 ? setTimeout(step, delay) : setTimeout(() => landed(v.draw), delay);
                };
                step();
              } else if (kind === "leaderboard") {
                show(el("div", "Top " + v.board, "muted"), (v.rows || []).length ? list(v.rows, r => r.name + " — " + r.value) : el("div", "Empty.", "muted"));
              } else if (kind === "slots") {
                const parts = [el("div", v.open ? "Open: type !sr <slot> (" + v.waiting + " waiting)" : "Closed (" + (v.waiting || 0) + " waiting)", "muted")];
                if (v.lastPick) parts.push(el("div", "Picked: " + v.lastPick.slot + " (" + v.lastPick.user + ")", "winner"));
                parts.push(list(v.queue || [], q => "#" + q.number + " " + q.slot + " — " + q.user));
                show(...parts);
              } else {
                const parts = [el("div", v.open ? "Open: type !guess <amount> (" + v.count + " guesses)" : (v.session ? "Closed (" + v.count + " guesses)" : "Not open yet."), "muted")];
                if (v.result) { parts.push(el("div", "Balance: " + v.result.amount, "winner")); parts.push(list(v.result.winners, w => w.user + " — " + w.amount + " (off by " + w.off + ")")); }
                else parts.push(list(v.guesses || [], g => g.user + " — " + g.amount));
                show(...parts);
              }
            }
            let last = "";
            function connect() {
              const source = new EventSource("\(stream)" + (last ? "&after=" + last : ""));
              source.addEventListener("view", e => {
                render(JSON.parse(e.data));
                firstView = false;
                last = e.lastEventId;
                document.body.dataset.sequence = e.lastEventId;
              });
              // EventSource reconnects by itself after a drop, but gives up on an error answer (the
              // guild's shard restarting, say): start again, resuming after the last view.
              source.onerror = () => {
                if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
              };
            }
            connect();
            </script></body></html>
            """
    }
}
