//! Counting and fault injection of the instrumented store.

use super::*;
use crate::store::memory::MemoryStore;

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

#[tokio::test]
async fn requests_are_counted_by_kind_and_operation() {
    let store = InstrumentedStore::new(Arc::new(MemoryStore::new()), "cluster-a");
    let cfg = GroupConfig::new("op", gid(), "cluster-a", Utc::now());
    let _ = store.create_config(&cfg).await.unwrap();
    let _ = store.load_group_with("op", &gid(), false).await.unwrap();
    let _ = store.load_group("op", &gid()).await.unwrap();
    let _ = store.list_groups("op").await.unwrap();
    let c = store.counts();
    assert_eq!((c.reads, c.writes, c.listings, c.refused), (3, 1, 1, 0));
    assert_eq!(c.by_operation.get("load_group"), Some(&2));
    store.reset_counts();
    assert_eq!(store.counts(), RequestCounts::default());
}

#[tokio::test]
async fn a_partitioned_user_gets_unavailable_and_the_store_is_untouched() {
    let inner = Arc::new(MemoryStore::new());
    let store = InstrumentedStore::new(inner.clone(), "cluster-a");
    store.set_partitioned(true);
    let cfg = GroupConfig::new("op", gid(), "cluster-a", Utc::now());
    let err = store.create_config(&cfg).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("cluster-a"), "{err}");
    assert_eq!(inner.load_group("op", &gid()).await.unwrap(), None);
    assert_eq!(store.counts().refused, 1);
    store.set_partitioned(false);
    assert!(store.create_config(&cfg).await.is_ok());
}
