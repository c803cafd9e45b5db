//! Regex matching for InfluxQL's `=~` / `!~`, regex sources and regex field selections:
//! an unanchored "does it match anywhere" test with Go RE2 syntax and semantics.
//!
//! The parser already rejected patterns Go refuses (`influxql::regex_syntax`), so this
//! module parses the accepted subset into a small program and runs it as a Pike VM
//! (Thompson NFA simulation): time is O(pattern × text) whatever the pattern, no
//! backtracking blow-up. Supported: literals, `.`, classes with ranges and negation,
//! `\d \w \s \D \W \S`, escapes, `^ $ \A \z \b \B`, groups `( ) (?: ) (?flags)` with
//! `i`/`s`/`m`, alternation, `* + ? {n} {n,} {n,m}` (greedy or lazy: the same for a
//! yes/no match). Unsupported constructs fail to compile, which callers treat as "no
//! match" after reporting.

/// Most program instructions a pattern may compile to (counted repeats expand).
const PROGRAM_LEN_MAX: usize = 100_000;
/// Largest `{n,m}` count (Go's limit).
const REPEAT_COUNT_MAX: u32 = 1000;

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Char(char, bool),
    Any(bool),
    Class(Vec<(char, char)>, bool, bool),
    LineStart,
    LineEnd,
    TextStart,
    TextEnd,
    WordBoundary(bool),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    case_insensitive: bool,
    dot_newline: bool,
    multi_line: bool,
}

struct Parser<'p> {
    chars: Vec<char>,
    position: usize,
    flags: Flags,
    _pattern: &'p str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        self.position += 1;
        ch
    }

    fn parse_alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.parse_concat()?];
        while self.peek() == Some('|') {
            self.position += 1;
            branches.push(self.parse_concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alternate(branches)
        })
    }

    fn parse_concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(ch) = self.peek() {
            if ch == '|' || ch == ')' {
                break;
            }
            let atom = self.parse_atom()?;
            let atom = self.parse_repeats(atom)?;
            items.push(atom);
        }
        Ok(Node::Concat(items))
    }

    fn parse_repeats(&mut self, mut atom: Node) -> Result<Node, String> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.position += 1;
                    (0, None)
                }
                Some('+') => {
                    self.position += 1;
                    (1, None)
                }
                Some('?') => {
                    self.position += 1;
                    (0, Some(1))
                }
                Some('{') => match self.parse_count()? {
                    Some(range) => range,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            if self.peek() == Some('?') {
                self.position += 1; // lazy: same answer for a yes/no match
            }
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    /// Parses `{n}`, `{n,}`, `{n,m}` at the cursor (consumed); `None` (nothing consumed)
    /// when the brace is a literal.
    fn parse_count(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let start = self.position;
        self.position += 1;
        let number = |parser: &mut Parser<'_>| -> Option<u32> {
            let begin = parser.position;
            while parser.peek().is_some_and(|c| c.is_ascii_digit()) {
                parser.position += 1;
            }
            let text: String = parser.chars.get(begin..parser.position)?.iter().collect();
            text.parse().ok()
        };
        let Some(min) = number(self) else {
            self.position = start;
            return Ok(None);
        };
        let max = if self.peek() == Some(',') {
            self.position += 1;
            if self.peek() == Some('}') {
                None
            } else {
                match number(self) {
                    Some(max) => Some(max),
                    None => {
                        self.position = start;
                        return Ok(None);
                    }
                }
            }
        } else {
            Some(min)
        };
        if self.peek() != Some('}') {
            self.position = start;
            return Ok(None);
        }
        self.position += 1;
        if min > REPEAT_COUNT_MAX || max.is_some_and(|m| m > REPEAT_COUNT_MAX || m < min) {
            return Err("invalid repeat count".into());
        }
        Ok(Some((min, max)))
    }

    fn parse_atom(&mut self) -> Result<Node, String> {
        let Some(ch) = self.next() else {
            return Ok(Node::Empty);
        };
        let flags = self.flags;
        Ok(match ch {
            '.' => Node::Any(flags.dot_newline),
            '^' => {
                if flags.multi_line {
                    Node::LineStart
                } else {
                    Node::TextStart
                }
            }
            '$' => {
                if flags.multi_line {
                    Node::LineEnd
                } else {
                    Node::TextEnd
                }
            }
            '[' => self.parse_class()?,
            '\\' => self.parse_escape(false)?,
            '(' => self.parse_group()?,
            other => Node::Char(other, flags.case_insensitive),
        })
    }

    fn parse_group(&mut self) -> Result<Node, String> {
        let saved = self.flags;
        if self.peek() == Some('?') {
            self.position += 1;
            if self.peek() == Some('P') || self.peek() == Some('<') {
                // named group: skip the name
                while let Some(c) = self.next() {
                    if c == '>' {
                        break;
                    }
                }
            } else {
                let mut enable = true;
                loop {
                    match self.next() {
                        Some('i') => self.flags.case_insensitive = enable,
                        Some('s') => self.flags.dot_newline = enable,
                        Some('m') => self.flags.multi_line = enable,
                        Some('U') => {}
                        Some('-') => enable = false,
                        Some(':') => break,
                        Some(')') => return Ok(Node::Empty), // flags for the rest of the group
                        _ => return Err("unsupported group".into()),
                    }
                }
            }
        }
        let inner = self.parse_alternation()?;
        if self.next() != Some(')') {
            return Err("missing closing )".into());
        }
        self.flags = saved;
        Ok(inner)
    }

    fn parse_escape(&mut self, in_class: bool) -> Result<Node, String> {
        let Some(ch) = self.next() else {
            return Err("trailing backslash".into());
        };
        let fold = self.flags.case_insensitive;
        Ok(match ch {
            'd' => Node::Class(digit_ranges(), false, false),
            'D' => Node::Class(digit_ranges(), true, false),
            'w' => Node::Class(word_ranges(), false, false),
            'W' => Node::Class(word_ranges(), true, false),
            's' => Node::Class(space_ranges(), false, false),
            'S' => Node::Class(space_ranges(), true, false),
            'A' if !in_class => Node::TextStart,
            'z' if !in_class => Node::TextEnd,
            'b' if !in_class => Node::WordBoundary(true),
            'B' if !in_class => Node::WordBoundary(false),
            'n' => Node::Char('\n', false),
            't' => Node::Char('\t', false),
            'r' => Node::Char('\r', false),
            'f' => Node::Char('\x0c', false),
            'v' => Node::Char('\x0b', false),
            'a' => Node::Char('\x07', false),
            'x' => Node::Char(self.parse_hex()?, fold),
            other if other.is_ascii_alphanumeric() => {
                return Err(format!("unsupported escape \\{other}"))
            }
            other => Node::Char(other, fold),
        })
    }

    fn parse_hex(&mut self) -> Result<char, String> {
        let mut text = String::new();
        if self.peek() == Some('{') {
            self.position += 1;
            while let Some(c) = self.next() {
                if c == '}' {
                    break;
                }
                text.push(c);
            }
        } else {
            for _ in 0..2 {
                text.extend(self.next());
            }
        }
        u32::from_str_radix(&text, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| "bad hex escape".to_string())
    }

    fn parse_class(&mut self) -> Result<Node, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            self.position += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let Some(ch) = self.next() else {
                return Err("missing closing ]".into());
            };
            if ch == ']' && !first {
                break;
            }
            first = false;
            let low = match ch {
                '[' if self.peek() == Some(':') => {
                    let rest: String = self
                        .chars
                        .get(self.position..)
                        .unwrap_or(&[])
                        .iter()
                        .collect();
                    let Some(end) = rest.find(":]") else {
                        return Err("bad class".into());
                    };
                    let name = rest.get(1..end).unwrap_or("");
                    self.position += end + 2;
                    ranges.extend(posix_class(name)?);
                    continue;
                }
                '\\' => match self.parse_escape(true)? {
                    Node::Char(c, _) => c,
                    Node::Class(inner, false, _) => {
                        ranges.extend(inner);
                        continue;
                    }
                    Node::Class(inner, true, _) => {
                        ranges.extend(negate_ranges(&inner));
                        continue;
                    }
                    _ => return Err("bad escape in class".into()),
                },
                other => other,
            };
            if self.peek() == Some('-') && self.chars.get(self.position + 1) != Some(&']') {
                self.position += 1;
                let high = match self.next() {
                    Some('\\') => match self.parse_escape(true)? {
                        Node::Char(c, _) => c,
                        _ => return Err("bad range".into()),
                    },
                    Some(c) => c,
                    None => return Err("missing closing ]".into()),
                };
                ranges.push((low, high));
            } else {
                ranges.push((low, low));
            }
        }
        Ok(Node::Class(ranges, negated, self.flags.case_insensitive))
    }
}

fn digit_ranges() -> Vec<(char, char)> {
    vec![('0', '9')]
}

fn word_ranges() -> Vec<(char, char)> {
    vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]
}

fn space_ranges() -> Vec<(char, char)> {
    vec![('\t', '\n'), ('\x0c', '\r'), (' ', ' ')]
}

fn posix_class(name: &str) -> Result<Vec<(char, char)>, String> {
    Ok(match name {
        "alpha" => vec![('A', 'Z'), ('a', 'z')],
        "digit" => digit_ranges(),
        "alnum" => vec![('0', '9'), ('A', 'Z'), ('a', 'z')],
        "space" => vec![('\t', '\r'), (' ', ' ')],
        "upper" => vec![('A', 'Z')],
        "lower" => vec![('a', 'z')],
        "word" => word_ranges(),
        "punct" => vec![('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "xdigit" => vec![('0', '9'), ('A', 'F'), ('a', 'f')],
        _ => return Err("unknown class".into()),
    })
}

fn negate_ranges(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut result = Vec::new();
    let mut next = 0u32;
    for (low, high) in sorted {
        if u32::from(low) > next {
            if let (Some(a), Some(b)) = (char::from_u32(next), char::from_u32(u32::from(low) - 1)) {
                result.push((a, b));
            }
        }
        next = next.max(u32::from(high) + 1);
    }
    if let Some(a) = char::from_u32(next) {
        result.push((a, char::MAX));
    }
    result
}

#[derive(Clone, Debug)]
enum Instruction {
    Char(char, bool),
    Any(bool),
    Class(Vec<(char, char)>, bool, bool),
    Assert(Node),
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    program: Vec<Instruction>,
}

fn emit(program: &mut Vec<Instruction>, instruction: Instruction) -> Result<usize, String> {
    if program.len() >= PROGRAM_LEN_MAX {
        return Err("pattern too large".into());
    }
    program.push(instruction);
    Ok(program.len() - 1)
}

fn compile(node: &Node, program: &mut Vec<Instruction>) -> Result<(), String> {
    match node {
        Node::Empty => {}
        Node::Char(c, fold) => {
            emit(program, Instruction::Char(*c, *fold))?;
        }
        Node::Any(newline) => {
            emit(program, Instruction::Any(*newline))?;
        }
        Node::Class(ranges, negated, fold) => {
            emit(program, Instruction::Class(ranges.clone(), *negated, *fold))?;
        }
        Node::LineStart
        | Node::LineEnd
        | Node::TextStart
        | Node::TextEnd
        | Node::WordBoundary(_) => {
            emit(program, Instruction::Assert(node.clone()))?;
        }
        Node::Concat(items) => {
            for item in items {
                compile(item, program)?;
            }
        }
        Node::Alternate(branches) => {
            let mut jumps = Vec::new();
            for (index, branch) in branches.iter().enumerate() {
                if index + 1 < branches.len() {
                    let split = emit(program, Instruction::Split(0, 0))?;
                    compile(branch, program)?;
                    jumps.push(emit(program, Instruction::Jump(0))?);
                    let next = program.len();
                    if let Some(slot) = program.get_mut(split) {
                        *slot = Instruction::Split(split + 1, next);
                    }
                } else {
                    compile(branch, program)?;
                }
            }
            let end = program.len();
            for jump in jumps {
                if let Some(slot) = program.get_mut(jump) {
                    *slot = Instruction::Jump(end);
                }
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, program)?;
            }
            match max {
                None => {
                    let split = emit(program, Instruction::Split(0, 0))?;
                    compile(inner, program)?;
                    emit(program, Instruction::Jump(split))?;
                    let end = program.len();
                    if let Some(slot) = program.get_mut(split) {
                        *slot = Instruction::Split(split + 1, end);
                    }
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(emit(program, Instruction::Split(0, 0))?);
                        compile(inner, program)?;
                    }
                    let end = program.len();
                    for split in splits {
                        if let Some(slot) = program.get_mut(split) {
                            *slot = Instruction::Split(split + 1, end);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_word(ch: Option<char>) -> bool {
    ch.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn fold_eq(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

impl Regex {
    /// Compiles `pattern` (Go RE2 syntax).
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut parser = Parser {
            chars: pattern.chars().collect(),
            position: 0,
            flags: Flags::default(),
            _pattern: pattern,
        };
        let node = parser.parse_alternation()?;
        if parser.position < parser.chars.len() {
            return Err("unexpected )".into());
        }
        let mut program = Vec::new();
        compile(&node, &mut program)?;
        emit(&mut program, Instruction::Match)?;
        Ok(Regex { program })
    }

    fn add_thread(
        &self,
        list: &mut Vec<usize>,
        seen: &mut [bool],
        pc: usize,
        previous: Option<char>,
        current: Option<char>,
    ) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            match seen.get_mut(pc) {
                Some(flag) if !*flag => *flag = true,
                _ => continue,
            }
            match self.program.get(pc) {
                Some(Instruction::Jump(target)) => stack.push(*target),
                Some(Instruction::Split(a, b)) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Some(Instruction::Assert(node)) => {
                    let holds = match node {
                        Node::TextStart => previous.is_none(),
                        Node::TextEnd => current.is_none(),
                        Node::LineStart => previous.is_none() || previous == Some('\n'),
                        Node::LineEnd => current.is_none() || current == Some('\n'),
                        Node::WordBoundary(wanted) => {
                            (is_word(previous) != is_word(current)) == *wanted
                        }
                        _ => false,
                    };
                    if holds {
                        stack.push(pc + 1);
                    }
                }
                Some(_) => list.push(pc),
                None => {}
            }
        }
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let length = self.program.len();
        let mut current: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        let mut seen = vec![false; length];
        let mut previous: Option<char> = None;
        let mut chars = text.chars().peekable();
        loop {
            let ch = chars.peek().copied();
            // A new thread starts at every position (unanchored search).
            self.add_thread(&mut current, &mut seen, 0, previous, ch);
            for &pc in &current {
                if matches!(self.program.get(pc), Some(Instruction::Match)) {
                    return true;
                }
            }
            let Some(ch) = ch else {
                return false;
            };
            chars.next();
            let following = chars.peek().copied();
            seen.iter_mut().for_each(|flag| *flag = false);
            next.clear();
            for &pc in &current {
                let advances = match self.program.get(pc) {
                    Some(Instruction::Char(c, fold)) => *c == ch || (*fold && fold_eq(*c, ch)),
                    Some(Instruction::Any(newline)) => *newline || ch != '\n',
                    Some(Instruction::Class(ranges, negated, fold)) => {
                        let inside = |c: char| ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                        let hit = inside(ch)
                            || (*fold
                                && (ch.to_lowercase().any(inside)
                                    || ch.to_uppercase().any(inside)));
                        hit != *negated
                    }
                    _ => false,
                };
                if advances {
                    self.add_thread(&mut next, &mut seen, pc + 1, Some(ch), following);
                }
            }
            std::mem::swap(&mut current, &mut next);
            previous = Some(ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .is_match(text)
    }

    #[test]
    fn basics() {
        assert!(matches("^[ab]$", "a"));
        assert!(!matches("^[ab]$", "ab"));
        assert!(matches("a", "cat"));
        assert!(!matches("a", "cpu"));
        assert!(matches("^(d|m)", "mem"));
        assert!(!matches("^(d|m)", "cpu"));
        assert!(matches("u", "usage"));
        assert!(matches("^o", "ok"));
        assert!(!matches("^zzz", "ok"));
        assert!(matches("c", "cpu"));
        assert!(matches("^$", ""));
        assert!(matches("", "anything"));
    }

    #[test]
    fn repeats_classes_and_flags() {
        assert!(matches("^a{2,3}$", "aaa"));
        assert!(!matches("^a{2,3}$", "aaaa"));
        assert!(matches("^\\d+\\.\\d*$", "12.5"));
        assert!(matches("(?i)^CPU", "cpu0"));
        assert!(matches("^[^a-c]x", "dx"));
        assert!(!matches("^[^a-c]x", "bx"));
        assert!(matches("\\bfoo\\b", "a foo b"));
        assert!(!matches("\\bfoo\\b", "afoob"));
        assert!(matches("^(ab)*c$", "ababc"));
        assert!(matches("^.*$", "anything at all"));
    }

    #[test]
    fn no_blow_up_on_nested_repeats() {
        let text = "a".repeat(5_000) + "b";
        assert!(!matches("^(a*)*c$", &text));
    }
}
