//! Publishes the controller's Events (events.k8s.io/v1) as kube's `Recorder` does: one Event per
//! type, reason, action and object, and a repeat within six minutes counted into that Event's
//! series (a patch) instead of a new Event. Unlike the `Recorder`, which keeps a full copy of
//! every Event it sent for those six minutes (about two kilobytes each, in a table that never
//! shrinks: 17 MiB of the controller's 70 MiB heap at 1,000 groups under `benches/scale_real`,
//! measured with heaptrack), this remembers a digest of the key, the Event's name, its count and
//! when it was last seen, and gives the table's memory back once the Events have aged out.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

/// How long a repeat still counts into an Event's series (kube's `Recorder`: six minutes).
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// How often aged-out series are forgotten: not on every Event, which at 10,000 groups would
/// walk the whole table for each one.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What is remembered of one sent Event.
struct Series {
    /// The Event's name, to patch its series.
    name: String,
    /// How often it happened (1: only the Event itself).
    count: i32,
    /// When it last happened.
    last: Instant,
}

/// The Events sent less than [`SERIES_TTL`] ago, by key digest (pure: no I/O, no clock).
#[derive(Default)]
pub struct SeriesTable {
    series: HashMap<u64, Series>,
    swept: Option<Instant>,
}

impl SeriesTable {
    /// The name and next count of the Event `key` repeats, if it was sent less than
    /// [`SERIES_TTL`] before `now`.
    pub fn repeat(&self, key: u64, now: Instant) -> Option<(String, i32)> {
        self.series
            .get(&key)
            .filter(|s| now.duration_since(s.last) < SERIES_TTL)
            .map(|s| (s.name.clone(), s.count + 1))
    }

    /// Remembers that the Event `name` for `key` has happened `count` times, the last at `now`.
    pub fn record(&mut self, key: u64, name: String, count: i32, now: Instant) {
        self.series.insert(
            key,
            Series {
                name,
                count,
                last: now,
            },
        );
    }

    /// Forgets `key` (its Event is gone or was refused: the next one starts a new Event).
    pub fn forget(&mut self, key: u64) {
        self.series.remove(&key);
    }

    /// Forgets series older than [`SERIES_TTL`], at most every [`SWEEP_EVERY`], and shrinks the
    /// table when most of it is empty (a `HashMap` keeps its largest capacity otherwise).
    pub fn sweep(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|at| now.duration_since(at) < SWEEP_EVERY)
        {
            return;
        }
        self.swept = Some(now);
        self.series
            .retain(|_, s| now.duration_since(s.last) < SERIES_TTL);
        if self.series.capacity() > 4 * self.series.len() + 64 {
            self.series.shrink_to_fit();
        }
    }

    /// Series remembered.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Slots the table holds memory for.
    pub fn capacity(&self) -> usize {
        self.series.capacity()
    }
}

/// The controller's Event publisher (one per process, used by one task).
pub struct EventPublisher {
    client: kube::Client,
    controller: String,
    instance: String,
    table: SeriesTable,
}

impl EventPublisher {
    /// A publisher reporting as `controller` (reportingController) from `instance`, cut to the
    /// API server's limit ([`reporting_instance`]).
    pub fn new(client: kube::Client, controller: &str, instance: &str) -> EventPublisher {
        EventPublisher {
            client,
            controller: controller.to_string(),
            instance: reporting_instance(instance),
            table: SeriesTable::default(),
        }
    }

    /// Creates the Event about `regarding`, or counts it into the series of the same Event sent
    /// less than [`SERIES_TTL`] ago.
    pub async fn publish(
        &mut self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Instant::now();
        self.table.sweep(now);
        let key = digest(event, regarding);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let time = MicroTime(k8s_openapi::jiff::Timestamp::now());
        if let Some((name, count)) = self.table.repeat(key, now) {
            let patch =
                serde_json::json!({ "series": { "count": count, "lastObservedTime": time } });
            return match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.table.record(key, name, count, now);
                    Ok(())
                }
                Err(e) => {
                    self.table.forget(key);
                    Err(e)
                }
            };
        }
        let body = self.new_event(event, regarding, time);
        let name = body.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &body).await?;
        self.table.record(key, name, 1, now);
        Ok(())
    }

    /// The Event as kube's `Recorder` writes it, named `{object}.{nanoseconds in hex}`.
    fn new_event(&self, ev: &Event, regarding: &ObjectReference, time: MicroTime) -> K8sEvent {
        let object = regarding.name.as_deref().unwrap_or(&self.controller);
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(time.clone()),
            regarding: Some(regarding.clone()),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{object}.{:x}", time.0.as_nanosecond())),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            related: ev.secondary.clone(),
            ..K8sEvent::default()
        }
    }
}

/// The key kube's `Recorder` folds Events by (type, reason, action, object, related object),
/// as a 64-bit digest: two keys share one with a chance of about 10^-10 at 50,000 series, and
/// then one Event's count is raised instead of a second Event created.
fn digest(ev: &Event, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    matches!(ev.type_, EventType::Warning).hash(&mut h);
    ev.reason.hash(&mut h);
    ev.action.hash(&mut h);
    reference(regarding, &mut h);
    if let Some(related) = &ev.secondary {
        reference(related, &mut h);
    }
    h.finish()
}

fn reference(r: &ObjectReference, h: &mut DefaultHasher) {
    for part in [
        &r.api_version,
        &r.kind,
        &r.namespace,
        &r.name,
        &r.uid,
        &r.field_path,
    ] {
        part.hash(h);
    }
}

/// The Events' `reportingInstance`: the API server refuses one longer than 128 characters, and
/// an identity (host name plus suffix) can be longer. Cut on a character boundary.
pub fn reporting_instance(identity: &str) -> String {
    let mut end = identity.len().min(128);
    while !identity.is_char_boundary(end) {
        end -= 1;
    }
    identity[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_identity_is_cut_to_the_api_servers_limit() {
        let long = "é".repeat(100);
        let cut = reporting_instance(&long);
        assert!(cut.len() <= 128 && long.starts_with(&cut), "{}", cut.len());
        assert_eq!(reporting_instance("east-7f9c"), "east-7f9c");
    }

    fn event(reason: &str, action: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some("n".into()),
            action: action.into(),
            secondary: None,
        }
    }

    fn group(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("FailoverGroup".into()),
            namespace: Some("shop".into()),
            name: Some(name.into()),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn a_repeat_counts_into_the_series_until_it_ages_out_and_the_table_gives_its_memory_back() {
        let t0 = Instant::now();
        let mut table = SeriesTable::default();
        table.sweep(t0);
        assert_eq!(table.repeat(1, t0), None);
        table.record(1, "g.17".into(), 1, t0);
        let later = t0 + Duration::from_secs(300);
        assert_eq!(table.repeat(1, later), Some(("g.17".to_string(), 2)));
        table.record(1, "g.17".into(), 2, later);
        // Six minutes after the last repeat (not the first Event) it is a new Event.
        let aged = later + SERIES_TTL;
        assert_eq!(
            table
                .repeat(1, later + Duration::from_secs(359))
                .map(|r| r.1),
            Some(3)
        );
        assert_eq!(table.repeat(1, aged), None);

        for key in 2..10_002 {
            table.record(key, format!("g{key}.17"), 1, later);
        }
        let full = table.capacity();
        table.sweep(later);
        assert_eq!(table.len(), 10_001, "none aged out yet");
        table.sweep(aged);
        assert!(table.is_empty(), "{} left", table.len());
        assert!(
            table.capacity() < full / 10,
            "{} of {full} slots kept",
            table.capacity()
        );
    }

    #[test]
    fn the_same_event_about_the_same_object_folds_and_any_difference_does_not() {
        let base = digest(&event("RoleChanged", "BecomePrimary"), &group("a"));
        assert_eq!(
            base,
            digest(&event("RoleChanged", "BecomePrimary"), &group("a"))
        );
        let mut other_note = event("RoleChanged", "BecomePrimary");
        other_note.note = Some("another text".into());
        assert_eq!(
            base,
            digest(&other_note, &group("a")),
            "kube folds by key, not note"
        );
        assert_ne!(
            base,
            digest(&event("RoleChanged", "BecomeStandby"), &group("a"))
        );
        assert_ne!(base, digest(&event("Fenced", "BecomePrimary"), &group("a")));
        assert_ne!(
            base,
            digest(&event("RoleChanged", "BecomePrimary"), &group("b"))
        );
        let mut warning = event("RoleChanged", "BecomePrimary");
        warning.type_ = EventType::Warning;
        assert_ne!(base, digest(&warning, &group("a")));
    }
}
