/// A line chart of the last five minutes as inline SVG, one polyline per node: what `/dashboard` shows without
/// JavaScript. `dashboard.js` draws the same markup from the live stream (`chart()` there), so the page looks the
/// same with or without it.
///
/// The plot area is x 40…590 (the window, oldest at the left, now at the right) and y 10…140 (0 at the bottom, the
/// axis maximum at the top); the maximum is the largest value rounded up to 1, 2 or 5 times a power of ten (at least
/// 1), labelled at the top left.
struct SVGChart: Sendable {
    struct Series: Sendable, Equatable {
        var name: String
        /// (Unix ms, value), oldest first.
        var points: [(Int64, Double)]

        static func == (lhs: Series, rhs: Series) -> Bool {
            lhs.name == rhs.name && lhs.points.elementsEqual(rhs.points) { $0 == $1 }
        }
    }

    var title: String
    var unit: String
    var series: [Series]
    /// The right edge (Unix ms).
    var now: Int64
    var window: Int64 = 300_000

    static let left = 40.0
    static let right = 590.0
    static let top = 10.0
    static let bottom = 140.0

    /// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
    static func axisMaximum(_ value: Double) -> Double {
        guard value > 1 else { return 1 }
        var scale = 1.0
        while scale * 10 < value { scale *= 10 }
        for step in [1.0, 2, 5, 10] where step * scale >= value { return step * scale }
        return 10 * scale
    }

    /// The axis maximum as labelled: a whole number (``axisMaximum(_:)`` is one).
    static func label(_ value: Double) -> String { String(Int(value.rounded())) }

    var svg: String {
        let start = now - window
        let visible = series.map { line in
            Series(name: line.name, points: line.points.filter { $0.0 >= start && $0.0 <= now })
        }
        let maximum = Self.axisMaximum(visible.flatMap { $0.points.map(\.1) }.max() ?? 0)
        var out =
            "<svg class=\"chart\" viewBox=\"0 0 600 160\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
            + "<line class=\"axis\" x1=\"40\" y1=\"140\" x2=\"590\" y2=\"140\"/>"
            + "<text class=\"tick\" x=\"36\" y=\"144\" text-anchor=\"end\">0</text>"
            + "<text class=\"tick\" x=\"36\" y=\"18\" text-anchor=\"end\">\(Self.label(maximum))</text>"
            + "<text class=\"tick\" x=\"590\" y=\"156\" text-anchor=\"end\">now</text>"
            + "<text class=\"tick\" x=\"40\" y=\"156\">-5 min</text>"
        for (index, line) in visible.enumerated() {
            let points = line.points.map { time, value -> String in
                let x = Self.left + Double(time - start) / Double(window) * (Self.right - Self.left)
                let y = Self.bottom - min(value / maximum, 1) * (Self.bottom - Self.top)
                return Self.coordinate(x) + "," + Self.coordinate(y)
            }
            out +=
                "<polyline class=\"series s\(index % 6)\" data-node=\"\(HTML.escape(line.name))\" points=\""
                + points.joined(separator: " ") + "\"/>"
        }
        return out + "</svg>"
    }

    /// One decimal, as `dashboard.js` writes it (`toFixed(1)`).
    static func coordinate(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}

/// Escaping for text and attribute values.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
