//! Checks a regex pattern the way InfluxDB 1.6.7 does (Go's RE2 `regexp.Compile`), so a
//! pattern Go rejects is a parse error with Go's message.
//!
//! Only the syntax is checked; matching is the executor's business. The checker covers
//! the errors people hit: unbalanced parentheses and brackets, repetition operators with
//! nothing to repeat or repeated twice, bad escapes, bad repeat counts, Perl-only groups.
//! Message format (Go's `syntax.Error`): ``error parsing regexp: CODE: `EXPR` ``.

/// `Err(message)` when Go would refuse `pattern`.
pub fn check(pattern: &str) -> Result<(), String> {
    Checker::new(pattern).run()
}

fn error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// Most repetitions a `{n,m}` count may ask for (Go's limit).
const MAX_REPEAT_COUNT: u32 = 1000;

struct Checker<'p> {
    pattern: &'p str,
    chars: Vec<(usize, char)>,
    index: usize,
    /// Byte offsets of the currently open `(`.
    open_groups: Vec<usize>,
}

impl<'p> Checker<'p> {
    fn new(pattern: &'p str) -> Self {
        Checker {
            pattern,
            chars: pattern.char_indices().collect(),
            index: 0,
            open_groups: Vec::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.index).map(|(_, ch)| *ch)
    }

    fn offset(&self) -> usize {
        self.chars
            .get(self.index)
            .map_or(self.pattern.len(), |(offset, _)| *offset)
    }

    fn rest_from(&self, offset: usize) -> &'p str {
        self.pattern.get(offset..).unwrap_or("")
    }

    fn slice(&self, start: usize, end: usize) -> &'p str {
        self.pattern.get(start..end).unwrap_or("")
    }

    fn run(mut self) -> Result<(), String> {
        // Whether the previous item can take a repetition operator, and where it began.
        let mut last_item: Option<usize> = None;
        // Whether the previous item was itself a repetition (to catch `a**`).
        let mut last_was_repeat: Option<usize> = None;
        while let Some(ch) = self.peek() {
            let start = self.offset();
            match ch {
                '(' => {
                    self.index += 1;
                    self.open_group(start)?;
                    last_item = None;
                    last_was_repeat = None;
                }
                ')' => {
                    self.index += 1;
                    let Some(open) = self.open_groups.pop() else {
                        return Err(error("unexpected )", self.pattern));
                    };
                    last_item = Some(open);
                    last_was_repeat = None;
                }
                '|' => {
                    self.index += 1;
                    last_item = None;
                    last_was_repeat = None;
                }
                '*' | '+' | '?' => {
                    self.index += 1;
                    if self.peek() == Some('?') {
                        self.index += 1;
                    }
                    let op_text = self.slice(start, self.offset());
                    self.check_repeat(last_item, last_was_repeat, start, op_text)?;
                    last_was_repeat = Some(start);
                }
                '{' => {
                    if let Some(end) = self.parse_repeat_count(start)? {
                        self.index = end;
                        if self.peek() == Some('?') {
                            self.index += 1;
                        }
                        let op_text = self.slice(start, self.offset());
                        self.check_repeat(last_item, last_was_repeat, start, op_text)?;
                        last_was_repeat = Some(start);
                    } else {
                        self.index += 1;
                        last_item = Some(start);
                        last_was_repeat = None;
                    }
                }
                '[' => {
                    self.index += 1;
                    self.skip_class(start)?;
                    last_item = Some(start);
                    last_was_repeat = None;
                }
                '\\' => {
                    self.index += 1;
                    self.check_escape(start)?;
                    last_item = Some(start);
                    last_was_repeat = None;
                }
                _ => {
                    self.index += 1;
                    last_item = Some(start);
                    last_was_repeat = None;
                }
            }
        }
        if !self.open_groups.is_empty() {
            return Err(error("missing closing )", self.pattern));
        }
        Ok(())
    }

    /// Checks a repetition operator `op_text` at `start`: it needs an item before it
    /// and must not follow another repetition (`previous_repeat` is where that began).
    fn check_repeat(
        &self,
        last_item: Option<usize>,
        previous_repeat: Option<usize>,
        start: usize,
        op_text: &str,
    ) -> Result<(), String> {
        if let Some(previous) = previous_repeat {
            let end = start + op_text.len();
            return Err(error(
                "invalid nested repetition operator",
                self.slice(previous, end),
            ));
        }
        match last_item {
            Some(_) => Ok(()),
            None => Err(error("missing argument to repetition operator", op_text)),
        }
    }

    fn open_group(&mut self, start: usize) -> Result<(), String> {
        if self.peek() == Some('?') {
            // Flags `(?i)`, `(?i:...)`, non-capturing `(?:...)`, named `(?P<name>...)`.
            let rest = self.rest_from(self.offset());
            if let Some(after) = rest.strip_prefix("?P<") {
                let Some(close) = after.find('>') else {
                    return Err(error("invalid named capture", self.rest_from(start)));
                };
                let name = after.get(..close).unwrap_or("");
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                if !valid {
                    let end = self.offset() + 3 + close + 1;
                    return Err(error("invalid named capture", self.slice(start, end)));
                }
                self.index += 3 + name.chars().count() + 1;
                self.open_groups.push(start);
                return Ok(());
            }
            self.index += 1;
            let mut seen_flag = false;
            loop {
                match self.peek() {
                    Some('i' | 'm' | 's' | 'U' | '-') => {
                        seen_flag = true;
                        self.index += 1;
                    }
                    Some(')') if seen_flag => {
                        self.index += 1;
                        return Ok(());
                    }
                    Some(':') => {
                        self.index += 1;
                        self.open_groups.push(start);
                        return Ok(());
                    }
                    _ => {
                        let end = (self.offset() + self.peek().map_or(0, char::len_utf8))
                            .min(self.pattern.len());
                        return Err(error(
                            "invalid or unsupported Perl syntax",
                            self.slice(start, end),
                        ));
                    }
                }
            }
        }
        self.open_groups.push(start);
        Ok(())
    }

    /// If a valid `{n}`, `{n,}` or `{n,m}` starts here, returns the index after it (a
    /// `{` that does not start one is a literal, as in Go).
    fn parse_repeat_count(&self, start: usize) -> Result<Option<usize>, String> {
        let mut index = self.index + 1;
        let digits = |index: &mut usize| -> Option<u32> {
            let begin = *index;
            while self
                .chars
                .get(*index)
                .is_some_and(|(_, ch)| ch.is_ascii_digit())
            {
                *index += 1;
            }
            if *index == begin {
                return None;
            }
            let text: String = self
                .chars
                .get(begin..*index)
                .unwrap_or_default()
                .iter()
                .map(|(_, ch)| *ch)
                .collect();
            Some(text.parse::<u32>().unwrap_or(u32::MAX))
        };
        let Some(min) = digits(&mut index) else {
            return Ok(None);
        };
        let mut max = Some(min);
        if self.chars.get(index).map(|(_, ch)| *ch) == Some(',') {
            index += 1;
            max = digits(&mut index);
        }
        if self.chars.get(index).map(|(_, ch)| *ch) != Some('}') {
            return Ok(None);
        }
        index += 1;
        let end_offset = self
            .chars
            .get(index)
            .map_or(self.pattern.len(), |(offset, _)| *offset);
        let bad =
            min > MAX_REPEAT_COUNT || max.is_some_and(|max| max > MAX_REPEAT_COUNT || max < min);
        if bad {
            return Err(error("invalid repeat count", self.slice(start, end_offset)));
        }
        Ok(Some(index))
    }

    fn skip_class(&mut self, start: usize) -> Result<(), String> {
        if self.peek() == Some('^') {
            self.index += 1;
        }
        // A `]` first in the class is a literal.
        if self.peek() == Some(']') {
            self.index += 1;
        }
        loop {
            let here = self.offset();
            match self.peek() {
                None => return Err(error("missing closing ]", self.rest_from(start))),
                Some(']') => {
                    self.index += 1;
                    return Ok(());
                }
                Some('\\') => {
                    self.index += 1;
                    self.check_escape(here)?;
                }
                Some('[') if self.rest_from(here).starts_with("[:") => {
                    let rest = self.rest_from(here);
                    match rest.find(":]") {
                        Some(close) => {
                            let class = rest.get(2..close).unwrap_or("");
                            let name = class.strip_prefix('^').unwrap_or(class);
                            if !POSIX_CLASSES.contains(&name) {
                                let text = rest.get(..close + 2).unwrap_or(rest);
                                return Err(error("invalid character class range", text));
                            }
                            self.index += rest.get(..close + 2).unwrap_or("").chars().count();
                        }
                        None => self.index += 1,
                    }
                }
                Some(_) => self.index += 1,
            }
        }
    }

    /// Checks the escape whose `\` was at `start` (already consumed).
    fn check_escape(&mut self, start: usize) -> Result<(), String> {
        let Some(ch) = self.peek() else {
            return Err(error("trailing backslash at end of expression", ""));
        };
        self.index += 1;
        let valid = match ch {
            '1'..='7' => false,
            '0' => {
                // Up to two more octal digits.
                for _ in 0..2 {
                    if self.peek().is_some_and(|next| ('0'..='7').contains(&next)) {
                        self.index += 1;
                    }
                }
                true
            }
            'a' | 'f' | 'n' | 'r' | 't' | 'v' | 'A' | 'b' | 'B' | 'z' | 'C' | 'Q' | 'E' => {
                // \Q..\E and \C: Go accepts \Q...\E; \C is not supported.
                ch != 'C'
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => true,
            'p' | 'P' => return self.check_unicode_class(start),
            'x' => return self.check_hex_escape(start),
            _ => !ch.is_ascii_alphanumeric(),
        };
        if valid {
            return Ok(());
        }
        let end = self.offset();
        Err(error("invalid escape sequence", self.slice(start, end)))
    }

    fn check_hex_escape(&mut self, start: usize) -> Result<(), String> {
        let bad = |checker: &Self| {
            let end = checker.offset();
            Err(error("invalid escape sequence", checker.slice(start, end)))
        };
        if self.peek() == Some('{') {
            self.index += 1;
            let mut count = 0;
            while self.peek().is_some_and(|ch| ch.is_ascii_hexdigit()) {
                self.index += 1;
                count += 1;
            }
            if count == 0 || self.peek() != Some('}') {
                return bad(self);
            }
            self.index += 1;
            return Ok(());
        }
        for _ in 0..2 {
            if !self.peek().is_some_and(|ch| ch.is_ascii_hexdigit()) {
                if self.peek().is_some() {
                    self.index += 1;
                }
                return bad(self);
            }
            self.index += 1;
        }
        Ok(())
    }

    fn check_unicode_class(&mut self, start: usize) -> Result<(), String> {
        match self.peek() {
            Some('{') => {
                let rest = self.rest_from(self.offset());
                match rest.find('}') {
                    Some(close) => {
                        self.index += rest.get(..close + 1).unwrap_or("").chars().count();
                        Ok(())
                    }
                    None => Err(error(
                        "invalid character class range",
                        self.rest_from(start),
                    )),
                }
            }
            Some(_) => {
                self.index += 1;
                Ok(())
            }
            None => Err(error(
                "invalid character class range",
                self.rest_from(start),
            )),
        }
    }
}

/// POSIX class names Go accepts inside `[[:name:]]`.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_messages() {
        assert_eq!(
            check("("),
            Err("error parsing regexp: missing closing ): `(`".into())
        );
        assert_eq!(
            check("a)"),
            Err("error parsing regexp: unexpected ): `a)`".into())
        );
        assert_eq!(
            check("*a"),
            Err("error parsing regexp: missing argument to repetition operator: `*`".into())
        );
        assert_eq!(
            check("a**"),
            Err("error parsing regexp: invalid nested repetition operator: `**`".into())
        );
        assert_eq!(
            check("[a"),
            Err("error parsing regexp: missing closing ]: `[a`".into())
        );
        assert_eq!(
            check(r"\q"),
            Err(r"error parsing regexp: invalid escape sequence: `\q`".into())
        );
        for good in [
            "a.*b", "^cpu$", "(?i)x", "[]a]", r"\d+\.\w", "a{2,3}", "x{", "(?:a|b)",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }
}
