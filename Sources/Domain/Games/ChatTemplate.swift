/// A custom command's reply: text with variables in braces (`{user}`, `{points}`, `{watchtime}`,
/// `{tickets}`, `{rank}`); `{{` and `}}` stand for literal braces.
public struct ChatTemplate: Hashable, Sendable {
    /// The variables a template may name.
    public static let variables = ["user", "points", "watchtime", "tickets", "rank"]
    /// The longest template, in bytes.
    public static let maximumBytes = 1000

    enum Part: Hashable, Sendable {
        case text(String)
        case variable(String)
    }

    let parts: [Part]

    /// Why a template was refused.
    public struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `text`, refusing it (with the reason, naming an unknown variable) unless every brace is
    /// a known variable or a doubled literal.
    public init(parsing text: String) throws(Problem) {
        guard !text.isEmpty else { throw Problem(description: "a reply cannot be empty") }
        guard text.utf8.count <= Self.maximumBytes else {
            throw Problem(description: "a reply is at most \(Self.maximumBytes) bytes")
        }
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "}" {
                guard next < text.endIndex, text[next] == "}" else {
                    throw Problem(description: "a lone } (write }} for a brace)")
                }
                literal.append("}")
                i = text.index(after: next)
            } else if c == "{" {
                if next < text.endIndex, text[next] == "{" {
                    literal.append("{")
                    i = text.index(after: next)
                    continue
                }
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw Problem(description: "a { without its } (write {{ for a brace)")
                }
                let name = String(text[next..<close])
                guard Self.variables.contains(name) else {
                    let shown = name.count > 32 ? String(name.prefix(32)) + "…" : name
                    throw Problem(
                        description: "unknown variable {\(shown)}; the variables are "
                            + Self.variables.map { "{\($0)}" }.joined(separator: ", "))
                }
                if !literal.isEmpty { parts.append(.text(literal)) }
                literal = ""
                parts.append(.variable(name))
                i = text.index(after: close)
            } else {
                literal.append(c)
                i = next
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    /// The reply with each variable's value (a variable missing from `values` renders empty).
    public func render(_ values: [String: String]) -> String {
        parts.map {
            switch $0 {
            case .text(let text): text
            case .variable(let name): values[name] ?? ""
            }
        }.joined()
    }
}
