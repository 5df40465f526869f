//! Command templates: shell commands with `{placeholder}`s filled from a database.
//!
//! Every substituted value is shell-quoted, so a database id or host cannot inject shell
//! syntax however it is spelled. Only lowercase `{name}` words are placeholders, and an
//! unknown one is an error at load time (a typo must not run a command with a hole in
//! it); `${var}` and other braces are left to the shell.

/// The placeholders a command may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "id",
    "host",
    "engine",
    "from_version",
    "to_version",
    "region",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(&'static str),
}

/// A parsed command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// The values a template is filled with.
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    pub id: &'a str,
    pub host: &'a str,
    pub engine: &'a str,
    pub from_version: &'a str,
    pub to_version: &'a str,
    pub region: &'a str,
}

impl Values<'_> {
    fn get(&self, name: &str) -> &str {
        match name {
            "id" => self.id,
            "host" => self.host,
            "engine" => self.engine,
            "from_version" => self.from_version,
            "to_version" => self.to_version,
            "region" => self.region,
            _ => "",
        }
    }

    /// The same values as environment variables (`FLEETDECK_ID`, ...), for scripts that
    /// prefer them to arguments.
    pub fn env(&self) -> [(&'static str, &str); 6] {
        [
            ("FLEETDECK_ID", self.id),
            ("FLEETDECK_HOST", self.host),
            ("FLEETDECK_ENGINE", self.engine),
            ("FLEETDECK_FROM_VERSION", self.from_version),
            ("FLEETDECK_TO_VERSION", self.to_version),
            ("FLEETDECK_REGION", self.region),
        ]
    }
}

impl Template {
    /// Parses `source`; the error names the unknown placeholder.
    pub fn parse(source: &str) -> Result<Template, String> {
        if source.trim().is_empty() {
            return Err("the command is empty".into());
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            let (before, from_brace) = rest.split_at(open);
            text.push_str(before);
            let shell_expansion = before.ends_with('$');
            let word = from_brace[1..]
                .find('}')
                .map(|close| &from_brace[1..1 + close])
                .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            match word {
                Some(word) if !shell_expansion => {
                    let known = PLACEHOLDERS.iter().find(|p| **p == word).ok_or_else(|| {
                        format!(
                            "unknown placeholder {{{word}}} (known: {})",
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        )
                    })?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Value(known));
                    rest = &from_brace[word.len() + 2..];
                }
                _ => {
                    text.push('{');
                    rest = &from_brace[1..];
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The command line with every placeholder replaced by its quoted value.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(name) => out.push_str(&shell_quote(values.get(name))),
            }
        }
        out
    }
}

/// Quotes `s` as one POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | ',' | '+' | '=')
        });
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            id: "pg-orders-euw1-01",
            host: "10.0.0.5",
            engine: "postgres",
            from_version: "16.4",
            to_version: "16.6",
            region: "eu-west-1",
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let t = Template::parse("patch.sh --db {id} --to {to_version} ${HOME} {a,b}").unwrap();
        assert_eq!(
            t.render(&values()),
            "patch.sh --db pg-orders-euw1-01 --to 16.6 ${HOME} {a,b}"
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let err = Template::parse("patch.sh {hots}").unwrap_err();
        assert!(err.contains("unknown placeholder {hots}"), "{err}");
        assert!(Template::parse("  ").is_err());
    }

    #[test]
    fn hostile_values_stay_one_word() {
        let t = Template::parse("echo {id}").unwrap();
        let v = Values {
            id: "x'; rm -rf / #$(reboot)`id`",
            ..values()
        };
        assert_eq!(t.render(&v), r#"echo 'x'\''; rm -rf / #$(reboot)`id`'"#);
        assert_eq!(shell_quote(""), "''");
    }
}
