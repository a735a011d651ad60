//! Building update and condition expressions with placeholders, so that no attribute name ever
//! collides with a DynamoDB reserved word (`status`, `state`, `name`, `version` all are).

use super::codec::Attrs;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Placeholders for the names and values of one request's expressions.
#[derive(Debug, Default)]
pub struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// An empty set of placeholders.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `#nK` placeholder of an attribute name (the same one each time for a name).
    pub fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    /// A fresh `:vK` placeholder for a value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `SET a = :x, ... REMOVE b, ...`: set what is `Some`, remove what is `None`, and leave every
    /// other attribute of the item alone (records other tools added to stay intact).
    pub fn update(&mut self, attrs: Attrs) -> String {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        for (name, value) in attrs {
            let n = self.name(name);
            match value {
                Some(v) => {
                    let v = self.value(v);
                    set.push(format!("{n} = {v}"));
                }
                None => remove.push(n),
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str("SET ");
            expression.push_str(&set.join(", "));
        }
        if !remove.is_empty() {
            if !expression.is_empty() {
                expression.push(' ');
            }
            expression.push_str("REMOVE ");
            expression.push_str(&remove.join(", "));
        }
        expression
    }

    /// The names map, or `None` when empty (DynamoDB refuses an empty map).
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values map, or `None` when empty.
    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_remove_share_one_expression_and_names_are_reused() {
        let mut e = Expr::new();
        let update = e.update(vec![
            ("status", Some(AttributeValue::S("OK".into()))),
            ("reason", None),
        ]);
        assert_eq!(update, "SET #n0 = :v0 REMOVE #n1");
        assert_eq!(e.name("status"), "#n0");
        assert_eq!(e.names().unwrap()["#n1"], "reason");
        assert!(Expr::new().values().is_none());
    }
}
