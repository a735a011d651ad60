//! What may leave the controller's log for places every reader of a namespace sees (status
//! conditions, Events): AWS error texts name the account, the role and the table
//! (`User: arn:aws:sts::123456789012:assumed-role/...`), and an access key id can appear in a
//! signature error. They are replaced by placeholders there; the log keeps the whole text.

/// `text` with every ARN, 12-digit account id and AWS access key id replaced.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in split_keeping(text) {
        out.push_str(&redact_word(word));
    }
    out
}

/// Splits into words and the separators between them (whitespace, quotes, commas, brackets),
/// keeping both so the text is rebuilt exactly.
fn split_keeping(text: &str) -> Vec<&str> {
    let separator =
        |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '(' | ')' | '[' | ']' | ';');
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if separator(c) {
            if start < i {
                parts.push(&text[start..i]);
            }
            parts.push(&text[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

fn redact_word(word: &str) -> String {
    if word.starts_with("arn:aws") {
        // Keep the service (arn:aws:dynamodb) so the kind of resource stays readable.
        let service = word.split(':').nth(2).unwrap_or("");
        return format!("arn:aws:{service}:<redacted>");
    }
    let trimmed = word.trim_end_matches(['.', ':']);
    let is_account = trimmed.len() == 12 && trimmed.bytes().all(|b| b.is_ascii_digit());
    let is_key = trimmed.len() == 20
        && (trimmed.starts_with("AKIA") || trimmed.starts_with("ASIA"))
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_account || is_key {
        return format!("<redacted>{}", &word[trimmed.len()..]);
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_role_and_key_are_replaced_and_the_rest_is_kept() {
        let text = "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/kfo/i-0abc is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-west-2:123456789012:table/failover-operator (key AKIAIOSFODNN7EXAMPLE, account 123456789012.)";
        let out = redact(text);
        for secret in [
            "123456789012",
            "assumed-role",
            "kfo/i-0abc",
            "failover-operator",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(!out.contains(secret), "{out} still has {secret}");
        }
        assert!(out.starts_with("AccessDeniedException: User: arn:aws:sts:<redacted> is not authorized to perform: dynamodb:GetItem"), "{out}");
        assert!(out.contains("arn:aws:dynamodb:<redacted>"), "{out}");
        assert!(out.ends_with("account <redacted>.)"), "{out}");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let text = "the store did not answer in time (allowed 1s); version 1234567890123 of CONFIG";
        assert_eq!(redact(text), text);
    }
}
