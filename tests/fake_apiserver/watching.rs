//! Watch semantics: kube-runtime's watcher and reflector, 410 recovery, raw watch streams.

use super::*;

/// Spawns a watcher and forwards its items (errors as text) into a channel.
fn spawn_watcher(
    api: Api<ConfigMap>,
) -> tokio::sync::mpsc::UnboundedReceiver<Result<watcher::Event<ConfigMap>, String>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(item) = stream.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    rx
}

async fn next_event<T>(rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event within 5 s")
        .expect("stream open")
}

/// Skips the initial-list events up to `InitDone`, returning the names listed.
async fn skip_init(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Result<watcher::Event<ConfigMap>, String>>,
) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        match next_event(rx).await {
            Ok(watcher::Event::Init) => {}
            Ok(watcher::Event::InitApply(cm)) => names.push(cm.name_any()),
            Ok(watcher::Event::InitDone) => return names,
            other => panic!("unexpected before InitDone: {other:?}"),
        }
    }
}

fn describe(event: Result<watcher::Event<ConfigMap>, String>) -> String {
    match event {
        Ok(watcher::Event::Apply(cm)) => format!(
            "apply {} {}",
            cm.name_any(),
            cm.data.unwrap_or_default()["k"]
        ),
        Ok(watcher::Event::Delete(cm)) => format!("delete {}", cm.name_any()),
        other => format!("{other:?}"),
    }
}

fn watch_count(server: &FakeApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.query.contains("watch=true") && r.status == 200)
        .count()
}

#[tokio::test]
async fn a_watcher_sees_added_modified_deleted_in_order() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    api.create(&PostParams::default(), &config_map("before"))
        .await
        .unwrap();
    let mut rx = spawn_watcher(api.clone());
    assert_eq!(skip_init(&mut rx).await, ["before"]);

    api.create(&PostParams::default(), &config_map("b"))
        .await
        .unwrap();
    api.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v2"}})),
    )
    .await
    .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let seen = [
        describe(next_event(&mut rx).await),
        describe(next_event(&mut rx).await),
        describe(next_event(&mut rx).await),
    ];
    assert_eq!(seen, ["apply b v", "apply b v2", "delete b"]);

    let lists = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.query.contains("watch="))
        .count();
    assert_eq!(
        lists,
        1,
        "one initial list, no re-list: {:?}",
        server.requests()
    );
}

#[tokio::test]
async fn a_reflector_store_follows_the_server() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    api.create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()));
    tokio::spawn(stream.try_for_each(|_| async { Ok(()) }));
    tokio::time::timeout(Duration::from_secs(5), reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    api.create(&PostParams::default(), &config_map("b"))
        .await
        .unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    eventually("the store holds exactly b", || {
        let names: Vec<String> = reader.state().iter().map(|c| c.name_any()).collect();
        names == ["b"]
    })
    .await;
}

#[tokio::test]
async fn a_watcher_recovers_from_a_410_by_relisting_without_looping() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    api.create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    let mut rx = spawn_watcher(api.clone());
    skip_init(&mut rx).await;
    // InitDone comes before the watch request: expire only once the watch is open.
    eventually("the watch is open", || watch_count(&server) == 1).await;

    server.expire_watches();
    let err = next_event(&mut rx).await.unwrap_err();
    assert!(err.contains("410") || err.contains("too old"), "{err}");
    assert_eq!(skip_init(&mut rx).await, ["a"], "the watcher re-lists");
    api.create(&PostParams::default(), &config_map("b"))
        .await
        .unwrap();
    assert_eq!(describe(next_event(&mut rx).await), "apply b v");

    // Bounded: after a second of quiet, exactly two lists and two watches were made.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = server.requests();
    let watches = watch_count(&server);
    let lists = requests
        .iter()
        .filter(|r| r.method == "GET" && !r.query.contains("watch="))
        .count();
    assert_eq!((lists, watches), (2, 2), "{requests:?}");
    assert!(rx.try_recv().is_err(), "no further events");
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_a_410_error_event() {
    let server = FakeApiServer::start().await;
    server.set_history_limit(2);
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let first = api
        .create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    for name in ["b", "c", "d"] {
        api.create(&PostParams::default(), &config_map(name))
            .await
            .unwrap();
    }
    let mut old = api
        .watch(&WatchParams::default(), &first.resource_version().unwrap())
        .await
        .unwrap()
        .boxed();
    match old.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert!(
        old.next().await.is_none(),
        "the stream ends after the error"
    );

    // Within the history: exactly the later writes, in order.
    let c = api.get("c").await.unwrap();
    let mut recent = api
        .watch(&WatchParams::default(), &c.resource_version().unwrap())
        .await
        .unwrap()
        .boxed();
    match recent.next().await {
        Some(Ok(WatchEvent::Added(cm))) => assert_eq!(cm.name_any(), "d"),
        other => panic!("expected ADDED d, got {other:?}"),
    }
}

#[tokio::test]
async fn a_selector_watch_sees_objects_leave_and_bookmarks_and_ends_at_its_timeout() {
    let server = FakeApiServer::start().await;
    server.set_bookmark_interval(Duration::from_millis(100));
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let mut cm = config_map("x");
    cm.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
    let created = api.create(&PostParams::default(), &cm).await.unwrap();
    let params = WatchParams::default().labels("tier=web").timeout(2);
    assert!(params.bookmarks, "kube asks for bookmarks by default");
    let started = std::time::Instant::now();
    let mut stream = api
        .watch(&params, &created.resource_version().unwrap())
        .await
        .unwrap()
        .boxed();
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
    )
    .await
    .unwrap();
    let (mut deleted, mut bookmarks) = (false, 0);
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            WatchEvent::Deleted(cm) => deleted = cm.name_any() == "x",
            WatchEvent::Bookmark(b) => {
                bookmarks += 1;
                assert!(b.metadata.resource_version.parse::<u64>().unwrap() >= rv_of(&created));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(deleted, "leaving the selection shows as DELETED");
    assert!(bookmarks >= 3, "bookmarks every 100 ms: {bookmarks}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn open_watches_end_when_the_server_goes_away() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let mut unavailable = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    server.set_unavailable(true);
    let end = tokio::time::timeout(Duration::from_secs(2), unavailable.next()).await;
    assert!(end.expect("ends at once").is_none(), "switched unavailable");
    server.set_unavailable(false);

    let mut dropped = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    drop(server);
    let end = tokio::time::timeout(Duration::from_secs(2), dropped.next()).await;
    assert!(
        !matches!(end.expect("ends at once"), Some(Ok(_))),
        "server dropped"
    );
}
