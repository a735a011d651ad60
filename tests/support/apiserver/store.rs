//! Object storage, the global resourceVersion and the bounded event history watches read.
//!
//! Everything lives behind one mutex (see `Shared`); every successful write bumps one
//! global, strictly increasing resourceVersion like etcd's revision and appends one entry
//! to the history. Watches are cursors into that history, so a watch started from a list's
//! resourceVersion sees exactly the writes after the list.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::journal::Journal;
use super::registry::{Registry, ResourceType};
use super::select::Selector;

/// How many write events are kept for watches to resume from (the real watch cache keeps
/// a time window; a count is enough here).
pub const DEFAULT_HISTORY: usize = 1000;

/// (group, plural, namespace or "" when cluster-scoped, name)
pub type Key = (String, String, String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One write, as watches replay it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub storage: (String, String),
    pub namespace: String,
    pub kind: ChangeKind,
    pub object: Value,
    /// The object before the write, so a selector-filtered watch can turn a MODIFIED that
    /// leaves (or enters) the selection into DELETED (or ADDED), as the real server does.
    pub previous: Option<Value>,
}

#[derive(Debug)]
pub struct State {
    pub registry: Registry,
    objects: BTreeMap<Key, Value>,
    pub rv: u64,
    history: VecDeque<Change>,
    /// Every change with rv > floor is still in `history`: a watch from rv >= floor can resume.
    pub floor: u64,
    pub history_limit: usize,
    /// Bumped by `expire_watches`: open watches then end with a 410 ERROR event.
    pub gone_epoch: u64,
    /// Bumped when the server becomes unavailable: open watches end (connection-drop style).
    pub close_epoch: u64,
    /// The write journal, when a test asked for one (`FakeApiServer::journal_writes`).
    pub journal: Option<Journal>,
}

pub fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
    let (group, plural) = rt.storage();
    let namespace = if rt.namespaced { namespace } else { "" };
    (group, plural, namespace.to_string(), name.to_string())
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

/// The object as served through `rt`'s version (CRD versions share storage, no conversion).
pub fn serve(rt: &ResourceType, obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
    }
    obj
}

/// Sets `path` inside `obj`, creating missing objects on the way; refuses (false) to
/// overwrite a non-object in the middle, so a malformed body can never cause a panic.
pub fn set_path(obj: &mut Value, path: &[&str], value: Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for p in parents {
        let Some(map) = cur.as_object_mut() else {
            return false;
        };
        cur = map
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    match cur.as_object_mut() {
        Some(map) => {
            map.insert(last.to_string(), value);
            true
        }
        None => false,
    }
}

pub fn remove_path(obj: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for p in parents {
        match cur.get_mut(*p) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(map) = cur.as_object_mut() {
        map.remove(*last);
    }
}

impl State {
    pub fn new() -> Self {
        State {
            registry: Registry::new(),
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            floor: 1,
            history_limit: DEFAULT_HISTORY,
            gone_epoch: 0,
            close_epoch: 0,
            journal: None,
        }
    }

    pub fn stored(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(rt, namespace, name))
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.stored(rt, namespace, name)
            .map(|o| serve(rt, o))
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// Stored objects of a resource (any version), optionally in one namespace, in key order.
    pub fn objects_of<'a>(
        &'a self,
        rt: &ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> {
        let storage = rt.storage();
        self.objects
            .iter()
            .filter(move |((g, p, ns, _), _)| {
                (g, p) == (&storage.0, &storage.1) && namespace.is_none_or(|n| n == ns)
            })
            .map(|(_, v)| v)
    }

    pub fn all_objects(&self) -> impl Iterator<Item = &Value> {
        self.objects.values()
    }

    /// A list document at the current resourceVersion. The real server omits apiVersion/kind
    /// on items of built-in lists (and keeps them for custom resources); so does this one.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>, sel: &Selector) -> Value {
        let items: Vec<Value> = self
            .objects_of(rt, namespace)
            .filter(|o| sel.matches(o))
            .map(|o| {
                let mut item = serve(rt, o);
                if rt.builtin
                    && let Some(map) = item.as_object_mut()
                {
                    map.remove("apiVersion");
                    map.remove("kind");
                }
                item
            })
            .collect();
        json!({
            "kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": self.rv.to_string()}, "items": items,
        })
    }

    /// Stores (or removes, for Deleted) `object` at a new resourceVersion and records the change.
    pub fn commit(
        &mut self,
        rt: &ResourceType,
        kind: ChangeKind,
        mut object: Value,
        previous: Option<Value>,
    ) -> Value {
        self.rv += 1;
        set_path(
            &mut object,
            &["metadata", "resourceVersion"],
            json!(self.rv.to_string()),
        );
        let k = key(
            rt,
            meta_str(&object, "namespace"),
            meta_str(&object, "name"),
        );
        match kind {
            ChangeKind::Deleted => {
                self.objects.remove(&k);
            }
            _ => {
                self.objects.insert(k.clone(), object.clone());
            }
        }
        if let Some(journal) = &mut self.journal {
            let stored = (kind != ChangeKind::Deleted).then_some(&object);
            journal.note(&k.1, &k.2, &k.3, stored);
        }
        self.history.push_back(Change {
            rv: self.rv,
            storage: (k.0, k.1),
            namespace: k.2,
            kind,
            object: object.clone(),
            previous,
        });
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.floor = dropped.rv;
            }
        }
        object
    }

    /// Starts a journal of writes to `plurals`, opened with every such object stored now (so
    /// the journal alone tells the whole state from here on).
    pub fn start_journal(&mut self, plurals: &[&str]) {
        let mut journal = Journal::of(plurals);
        for ((_, plural, namespace, name), obj) in &self.objects {
            journal.note(plural, namespace, name, Some(obj));
        }
        self.journal = Some(journal);
    }

    /// The changes after `cursor`, or the 410 a real server answers once they are compacted.
    pub fn changes_after(&self, cursor: u64) -> Result<Vec<Change>, ApiError> {
        if cursor < self.floor {
            return Err(ApiError::too_old(cursor, self.floor));
        }
        Ok(self
            .history
            .iter()
            .filter(|c| c.rv > cursor)
            .cloned()
            .collect())
    }

    /// Forgets all history (like an etcd compaction at the current revision): any watch from
    /// an older resourceVersion now gets 410; the current one (what a fresh list returns) works.
    pub fn compact(&mut self) {
        self.history.clear();
        self.floor = self.rv;
    }

    /// Removes every custom object stored under a CRD that is going away, as DELETED events.
    pub fn drop_crd_objects(&mut self, group: &str, plural: &str) {
        let Some(rt) = self
            .registry
            .all()
            .iter()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
        else {
            return;
        };
        let doomed: Vec<Value> = self.objects_of(&rt, None).cloned().collect();
        for obj in doomed {
            self.commit(&rt, ChangeKind::Deleted, obj, None);
        }
        self.registry.unregister_crd(group, plural);
    }
}
