extension SlashCommand {
    /// Tally's whole command set, defined once: `tally discord register-commands` registers it and the
    /// interaction handler answers every path of it (a test holds the two together).
    ///
    /// Discord does not let a command take both sub-commands and plain options, so a command with
    /// admin sub-commands gives everyone a sub-command of its own (`/points view [user]`,
    /// `/raffle status`, `/shop list`). Who is an admin is decided per interaction (MANAGE_GUILD or the
    /// guild's admin role), never by Discord's default permissions alone.
    public static let tally: [SlashCommand] = [
        SlashCommand(
            "points", "Points: see them, or (admins) add and remove",
            [
                .sub("view", "Someone's points (yours by default)", [.user("user", "Whose points", required: false)]),
                .sub(
                    "add", "Admins: add points",
                    [.user("user", "Who"), .integer("amount", "How many", min: 1), .string("reason", "Why")]),
                .sub(
                    "remove", "Admins: remove points",
                    [.user("user", "Who"), .integer("amount", "How many", min: 1), .string("reason", "Why")]),
            ]),
        SlashCommand("watchtime", "Watch time (yours by default)", [.user("user", "Whose", required: false)]),
        SlashCommand(
            "tickets", "Raffle tickets: see them, or (admins) grant and remove",
            [
                .sub("view", "Someone's tickets (yours by default)", [.user("user", "Whose", required: false)]),
                .sub(
                    "grant", "Admins: grant tickets",
                    [.user("user", "Who"), .integer("amount", "How many", min: 1), .string("reason", "Why")]),
                .sub(
                    "remove", "Admins: remove tickets",
                    [.user("user", "Who"), .integer("amount", "How many", min: 1), .string("reason", "Why")]),
            ]),
        SlashCommand(
            "leaderboard", "The top of the server",
            [.string("board", "Which board", choices: ["points", "watchtime", "tickets"])]),
        SlashCommand(
            "raffle", "The raffle",
            [
                .sub("status", "The period, its commitment, your tickets and chance, the last draws"),
                .sub("open", "Admins: open a period (this calendar month)"),
                .sub("close", "Admins: close the period and reveal its seed"),
                .sub(
                    "draw", "Admins: draw winners", [.integer("winners", "How many", required: false, min: 1, max: 10)]),
                .sub(
                    "exclude", "Admins: exclude someone from draws (or include again)",
                    [.user("user", "Who"), .boolean("excluded", "Excluded?", required: false)]),
            ]),
        SlashCommand(
            "shop", "The point shop",
            [
                .sub("list", "What is for sale"),
                .sub(
                    "create", "Admins: add an item",
                    [
                        .string("name", "Name"), .integer("price", "Price in points", min: 1),
                        .integer("stock", "Stock (-1 unlimited)", required: false, min: -1),
                        .integer("limit", "Per-person limit (-1 unlimited)", required: false, min: -1),
                        .integer("tickets", "Raffle tickets it gives (a ticket item)", required: false, min: 1),
                        .string("requirement", "What the buyer must tell you", required: false),
                    ]),
                .sub(
                    "edit", "Admins: change an item",
                    [
                        .integer("item", "Item number", min: 1), .string("name", "Name", required: false),
                        .integer("price", "Price", required: false, min: 1),
                        .integer("limit", "Per-person limit (-1 unlimited)", required: false, min: -1),
                    ]),
                .sub(
                    "restock", "Admins: set an item's stock",
                    [.integer("item", "Item number", min: 1), .integer("stock", "Stock (-1 unlimited)", min: -1)]),
                .sub("deactivate", "Admins: stop selling an item", [.integer("item", "Item number", min: 1)]),
            ]),
        SlashCommand(
            "buy", "Buy a shop item",
            [
                .integer("item", "Item number", min: 1),
                .string("requirement", "What the item asks you for", required: false),
            ]),
        SlashCommand("link", "Link your Kick account"),
        SlashCommand("unlink", "Unlink your Kick account"),
        SlashCommand("orders", "Admins: pending shop orders, to fulfil or cancel"),
        SlashCommand(
            "roles", "Admins: watch-time roles",
            [
                .sub(
                    "set", "Set a role's watch-time threshold",
                    [.role("role", "The role"), .integer("minutes", "Minutes of watch time", min: 0)]),
                .sub("remove", "Remove a role's threshold", [.role("role", "The role")]),
                .sub("list", "The thresholds"),
                .sub("status", "Role deliveries waiting and failed"),
            ]),
        SlashCommand(
            "settings", "Admins: this server's settings",
            [
                .sub("get", "A setting's value", [.string("name", "Setting name")]),
                .sub(
                    "set", "Change a setting (no value: back to the default)",
                    [.string("name", "Setting name"), .string("value", "New value", required: false)]),
            ]),
        SlashCommand(
            "slots", "Slot requests from Kick chat (!sr <slot>)",
            [
                .sub("list", "The queue"),
                .sub("open", "Admins: open the queue (commits to the seed its picks use)"),
                .sub("close", "Admins: close the queue (reveals the seed)"),
                .sub("pick", "Admins: pick a waiting request, provably fairly"),
                .sub("skip", "Admins: skip a waiting request", [.integer("number", "Request number", min: 1)]),
                .sub("clear", "Admins: empty the queue"),
                .sub(
                    "blacklist", "Admins: refuse a slot (or allow it again)",
                    [.string("slot", "Slot name"), .boolean("blocked", "Refused?", required: false)]),
            ]),
        SlashCommand(
            "guess", "Guess the balance (!guess <amount> in Kick chat)",
            [
                .sub("list", "The guesses so far"),
                .sub("open", "Admins: open guessing"),
                .sub("close", "Admins: close guessing"),
                .sub(
                    "result", "Admins: enter the balance and rank the closest guesses",
                    [
                        .string("amount", "The balance, e.g. 1234.56"),
                        .integer("winners", "How many to rank", required: false, min: 1, max: 10),
                    ]),
            ]),
        SlashCommand(
            "commands", "Admins: custom Kick chat commands",
            [
                .sub(
                    "set", "Create or change a command",
                    [
                        .string("name", "Its name, without !"),
                        .string("reply", "The reply; variables {user} {points} {watchtime} {tickets} {rank}"),
                        .integer("cooldown", "Seconds between answers", required: false, min: 0, max: 86_400),
                    ]),
                .sub("delete", "Delete a command", [.string("name", "Its name")]),
                .sub("list", "The commands"),
            ]),
        SlashCommand(
            "timers", "Admins: timed Kick chat messages (sent while live and people chat)",
            [
                .sub(
                    "set", "Add a timed message (or change one by id)",
                    [
                        .string("text", "The message"), .integer("minutes", "Interval in minutes", min: 1, max: 1440),
                        .integer("id", "The message to change", required: false, min: 1),
                    ]),
                .sub("delete", "Delete a timed message", [.integer("id", "Its id", min: 1)]),
                .sub("list", "The timed messages"),
            ]),
        SlashCommand("overlay", "Admins: this server's OBS overlay links"),
    ]
}
