//! Every chain is an entry of `chains` with its `kind`: `"evm"` or `"solana"`, each kind with
//! its own fields. The older `[solana]` section still loads, so configs written before keep
//! working. The services read one typed view: EVM chains in `chains`, the deployment's one
//! Solana cluster (DESIGN §4) in `solana`; this module translates the file's form to that
//! view when loading, and back when writing.

use toml::{Table, Value};

/// The Solana entry of a file's `chains` table, once moved to `[solana]` for loading: errors
/// and environment overrides are translated back to its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SolanaEntry {
    pub name: String,
}

impl SolanaEntry {
    /// `solana.<field>` (the loaded view) as the file spells it: `chains.<name>.<field>`.
    pub fn in_file(&self, text: &str) -> String {
        text.replace("`solana.", &format!("`chains.{}.", self.name))
            .replace("`solana`", &format!("`chains.{}`", self.name))
    }

    pub fn field_in_file(&self, field: &str) -> String {
        match field.strip_prefix("solana") {
            Some(rest) if rest.is_empty() || rest.starts_with('.') => {
                format!("chains.{}{rest}", self.name)
            }
            _ => field.to_string(),
        }
    }

    /// An environment override's key (`chains.<name>.…`, lowercased as figment reads it)
    /// in the loaded view (`solana.…`).
    pub fn env_key(&self, key: &str) -> Option<String> {
        let key = key.to_lowercase();
        let prefix = format!("chains.{}", self.name.to_lowercase());
        let rest = key.strip_prefix(&prefix)?;
        (rest.is_empty() || rest.starts_with('.')).then(|| format!("solana{rest}"))
    }
}

/// The chain families this build has an adapter for, as `kind` spells them.
const KINDS: &str = "evm, solana";

/// Why the file's `chains` cannot be routed to the adapters (each names the entry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormError {
    #[error(
        "chains.{name}.kind: {kind:?} is not a chain family this build has an adapter for ({})",
        KINDS
    )]
    UnknownKind { name: String, kind: String },
    #[error("chains.{name}.kind: must be a string")]
    KindNotText { name: String },
    #[error("chains.{name}.kind: missing (one of {})", KINDS)]
    NoKind { name: String },
    #[error("chains: {0} have kind = \"solana\"; a deployment has one Solana cluster")]
    SeveralSolana(String),
    #[error(
        "chains.{name} has kind = \"solana\" and a [solana] section is given too: keep \
         chains.{name} ([solana] is the older form of the same settings)"
    )]
    BothForms { name: String },
    #[error("chains.{name}.name: a chain's name is its key in chains; leave `name` out")]
    NameGiven { name: String },
    #[error("cannot write the loaded view: {0}")]
    Write(#[from] toml::ser::Error),
}

/// A file's text in the loaded view: every entry of `chains` is routed by its `kind` (which
/// is the file's, not the adapter's: it is taken out), a `kind = "solana"` entry becoming the
/// `[solana]` section, named by its key. Text that does not parse, or has no `chains`, is
/// returned as it is (so figment reports parse errors with their lines).
pub(crate) fn loaded_view(text: &str) -> Result<(String, Option<SolanaEntry>), FormError> {
    let Ok(mut doc) = text.parse::<Table>() else {
        return Ok((text.to_string(), None));
    };
    let Some(Value::Table(chains)) = doc.get_mut("chains") else {
        return Ok((text.to_string(), None));
    };
    let mut solana = Vec::new();
    for (name, entry) in chains.iter_mut() {
        // Not a table: figment says so, naming the entry.
        let Value::Table(entry) = entry else { continue };
        match entry.get("kind").map(|k| k.as_str()) {
            Some(Some("evm")) => {
                entry.remove("kind");
            }
            Some(Some("solana")) => solana.push(name.clone()),
            Some(Some(other)) => {
                return Err(FormError::UnknownKind {
                    name: name.clone(),
                    kind: other.to_string(),
                })
            }
            Some(None) => return Err(FormError::KindNotText { name: name.clone() }),
            None => return Err(FormError::NoKind { name: name.clone() }),
        }
    }
    let name = match solana.as_slice() {
        [] => return Ok((to_text(&doc)?, None)),
        [name] => name.clone(),
        _ => return Err(FormError::SeveralSolana(solana.join(" and "))),
    };
    let Some(Value::Table(mut entry)) = chains.remove(&name) else {
        return Ok((to_text(&doc)?, None));
    };
    if doc.contains_key("solana") {
        return Err(FormError::BothForms { name });
    }
    entry.remove("kind");
    if let Some(given) = entry.get("name") {
        if given.as_str() != Some(name.as_str()) {
            return Err(FormError::NameGiven { name });
        }
    }
    entry.insert("name".into(), Value::String(name.clone()));
    doc.insert("solana".into(), Value::Table(entry));
    Ok((to_text(&doc)?, Some(SolanaEntry { name })))
}

fn to_text(doc: &Table) -> Result<String, FormError> {
    Ok(toml::to_string(doc)?)
}

/// A config as a file writes it: `[solana]` of the loaded view becomes the `kind = "solana"`
/// entry of `chains`, named by its `name`.
pub fn to_toml<T: serde::Serialize>(config: &T) -> Result<String, toml::ser::Error> {
    let mut doc = Table::try_from(config)?;
    if let Some(Value::Table(chains)) = doc.get_mut("chains") {
        for (_, entry) in chains.iter_mut() {
            if let Value::Table(entry) = entry {
                entry.insert("kind".into(), Value::String("evm".into()));
            }
        }
    }
    if let Some(Value::Table(mut solana)) = doc.remove("solana") {
        let name = match solana.remove("name") {
            Some(Value::String(n)) => n,
            _ => "solana".to_string(),
        };
        let mut entry = Table::new();
        entry.insert("kind".into(), Value::String("solana".into()));
        entry.extend(solana);
        let chains = doc
            .entry("chains")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(chains) = chains {
            chains.insert(name, Value::Table(entry));
        }
    }
    toml::to_string_pretty(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_FORM: &str = r#"
[chains.ethereum]
kind = "evm"
domain = 0

[chains.sol]
kind = "solana"
domain = 5
mint = "M"
"#;

    #[test]
    fn a_solana_entry_of_chains_is_the_solana_section_named_by_its_key() {
        let (text, moved) = loaded_view(NEW_FORM).unwrap();
        let doc: Table = text.parse().unwrap();
        assert_eq!(moved, Some(SolanaEntry { name: "sol".into() }));
        assert_eq!(doc["solana"]["name"].as_str(), Some("sol"));
        assert_eq!(doc["solana"]["mint"].as_str(), Some("M"));
        assert!(doc["solana"].get("kind").is_none());
        let chains = doc["chains"].as_table().unwrap();
        assert_eq!(chains.keys().collect::<Vec<_>>(), vec!["ethereum"]);
    }

    #[test]
    fn evm_entries_lose_their_kind_and_the_older_section_is_left_as_it_is() {
        let old = "[chains.ethereum]\nkind = \"evm\"\ndomain = 0\n\n[solana]\nmint = \"M\"\n";
        let (text, moved) = loaded_view(old).unwrap();
        let doc: Table = text.parse().unwrap();
        assert_eq!(moved, None);
        assert!(doc["chains"]["ethereum"].get("kind").is_none());
        assert_eq!(doc["chains"]["ethereum"]["domain"].as_integer(), Some(0));
        assert_eq!(doc["solana"]["mint"].as_str(), Some("M"));
        let broken = "[chains\nkind = ";
        assert_eq!(loaded_view(broken).unwrap(), (broken.to_string(), None));
    }

    #[test]
    fn two_solana_entries_or_both_forms_at_once_are_refused() {
        let two = format!("{NEW_FORM}\n[chains.other]\nkind = \"solana\"\n");
        let e = loaded_view(&two).unwrap_err().to_string();
        assert!(
            e.contains("other and sol") || e.contains("sol and other"),
            "{e}"
        );
        let both = format!("{NEW_FORM}\n[solana]\nmint = \"M\"\n");
        let e = loaded_view(&both).unwrap_err().to_string();
        assert!(e.contains("chains.sol") && e.contains("[solana]"), "{e}");
        let named = NEW_FORM.replace("mint = \"M\"", "mint = \"M\"\nname = \"x\"");
        assert!(loaded_view(&named)
            .unwrap_err()
            .to_string()
            .contains("chains.sol.name"));
    }

    #[test]
    fn errors_and_overrides_are_translated_to_the_entry() {
        let e = SolanaEntry { name: "sol".into() };
        assert_eq!(e.field_in_file("solana.mint"), "chains.sol.mint");
        assert_eq!(e.field_in_file("solana"), "chains.sol");
        assert_eq!(e.field_in_file("solanax.mint"), "solanax.mint");
        assert_eq!(
            e.in_file("field `solana.rpc_urls`: bad"),
            "field `chains.sol.rpc_urls`: bad"
        );
        assert_eq!(
            e.env_key("chains.sol.rpc_urls").as_deref(),
            Some("solana.rpc_urls")
        );
        assert_eq!(
            e.env_key("CHAINS.SOL.RPC_URLS").as_deref(),
            Some("solana.rpc_urls"),
            "as figment passes it, before lowercasing"
        );
        assert_eq!(e.env_key("chains.solx.rpc_urls"), None);
        assert_eq!(e.env_key("chains.ethereum.rpc_urls"), None);
    }

    #[test]
    fn writing_puts_solana_back_in_chains() {
        #[derive(serde::Serialize)]
        struct C {
            chains: std::collections::BTreeMap<String, Table>,
            solana: Table,
        }
        let mut solana = Table::new();
        solana.insert("name".into(), Value::String("sol".into()));
        solana.insert("mint".into(), Value::String("M".into()));
        let text = to_toml(&C {
            chains: Default::default(),
            solana,
        })
        .unwrap();
        let doc: Table = text.parse().unwrap();
        assert!(doc.get("solana").is_none());
        assert_eq!(doc["chains"]["sol"]["kind"].as_str(), Some("solana"));
        assert_eq!(doc["chains"]["sol"]["mint"].as_str(), Some("M"));
        let (_, moved) = loaded_view(&text).unwrap();
        assert_eq!(moved.unwrap().name, "sol", "and it loads back");
    }
}
