//! Chapter 4 — the client DB and its lock: lookups by id and by address, the connection cap,
//! and many threads inserting, removing and reading at once.
//! Exercise: `cargo test --features ex04 --test ch04_client_db`.

mod common;
use common::*;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use tcpserverlib::client_db::{ClientDb, DbFull};
use tcpserverlib::ClientId;

fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A new client may connect from the address and port of an old one that is still being
/// removed: removing the old one then leaves the new one findable by that address.
#[test]
fn removing_an_old_client_keeps_a_new_one_at_its_address() {
    let db: ClientDb<&str> = ClientDb::new();
    db.try_insert(ClientId(1), peer(5001), Arc::new("old"), 10)
        .unwrap();
    db.try_insert(ClientId(2), peer(5001), Arc::new("new"), 10)
        .unwrap();
    assert_eq!(*db.remove(ClientId(1)).unwrap(), "old");
    let found = db.find_by_peer(peer(5001)).map(|(id, v)| (id, *v));
    assert_eq!(
        found,
        Some((ClientId(2), "new")),
        "expected client #2, connected last from 127.0.0.1:5001, still found by that address \
         once client #1 (same address) was removed"
    );
    assert_eq!(*db.remove(ClientId(2)).unwrap(), "new");
    assert!(db.find_by_peer(peer(5001)).is_none());
}

/// A client is found by id and by peer address until it is removed, and only once removed.
#[test]
fn insert_find_remove() {
    let db: ClientDb<&str> = ClientDb::new();
    db.try_insert(ClientId(1), peer(5001), Arc::new("one"), 10)
        .unwrap();
    db.try_insert(ClientId(2), peer(5002), Arc::new("two"), 10)
        .unwrap();
    assert_eq!(db.len(), 2);
    assert_eq!(*db.get(ClientId(1)).unwrap(), "one");
    let (id, v) = db.find_by_peer(peer(5002)).unwrap();
    assert_eq!((id, *v), (ClientId(2), "two"));
    assert_eq!(*db.remove(ClientId(2)).unwrap(), "two");
    assert!(
        db.remove(ClientId(2)).is_none(),
        "the second remove gets nothing"
    );
    assert!(db.find_by_peer(peer(5002)).is_none());
    assert!(db.contains(ClientId(1)) && !db.contains(ClientId(2)));
}

/// The cap is enforced by try_insert, and a removal makes room again.
#[test]
fn cap() {
    let db: ClientDb<u32> = ClientDb::new();
    db.try_insert(ClientId(1), peer(1), Arc::new(1), 2).unwrap();
    db.try_insert(ClientId(2), peer(2), Arc::new(2), 2).unwrap();
    assert_eq!(
        db.try_insert(ClientId(3), peer(3), Arc::new(3), 2),
        Err(DbFull { max: 2 })
    );
    db.remove(ClientId(1));
    db.try_insert(ClientId(3), peer(3), Arc::new(3), 2).unwrap();
}

/// snapshot and drain return clients in id order; drain empties both indexes.
#[test]
fn snapshot_and_drain_in_order() {
    let db: ClientDb<u64> = ClientDb::new();
    for i in [5u64, 1, 3] {
        db.try_insert(ClientId(i), peer(i as u16), Arc::new(i), 10)
            .unwrap();
    }
    let ids: Vec<u64> = db.snapshot().iter().map(|(id, _)| id.0).collect();
    assert_eq!(ids, vec![1, 3, 5]);
    let drained: Vec<u64> = db.drain().iter().map(|(_, v)| **v).collect();
    assert_eq!(drained, vec![1, 3, 5]);
    assert!(db.is_empty());
    assert!(db.find_by_peer(peer(3)).is_none());
}

/// Eight threads insert, look up and remove at once; every remove of an id succeeds exactly
/// once, and the DB ends empty with both indexes consistent.
#[test]
fn concurrent_access_is_consistent() {
    let db: Arc<ClientDb<u64>> = Arc::new(ClientDb::new());
    let per_thread = 2_000u64;
    let writers_done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                for i in 0..per_thread {
                    let id = t * per_thread + i;
                    db.try_insert(ClientId(id), peer(id as u16), Arc::new(id), usize::MAX)
                        .unwrap();
                }
            })
        })
        .collect();
    let removers: Vec<_> = (0..4)
        .map(|_| {
            let db = Arc::clone(&db);
            let done = Arc::clone(&writers_done);
            thread::spawn(move || {
                let mut mine = HashSet::new();
                let give_up = std::time::Instant::now() + TIMEOUT;
                // Race the writers: remove whatever is there, until they are done and the DB
                // is empty.
                loop {
                    assert!(
                        std::time::Instant::now() < give_up,
                        "the DB still holds {} clients after {:?} of removing: expected every \
                         remove() of a stored client to succeed, once",
                        db.len(),
                        TIMEOUT
                    );
                    let finished = done.load(Ordering::SeqCst);
                    for (id, _) in db.snapshot() {
                        if db.remove(id).is_some() {
                            assert!(mine.insert(id));
                        }
                    }
                    if finished && db.is_empty() {
                        return mine;
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    writers_done.store(true, Ordering::SeqCst);
    let mut all: HashSet<ClientId> = HashSet::new();
    for r in removers {
        let removed = r
            .join()
            .unwrap_or_else(|_| panic!("a remover thread failed (its message is above)"));
        for id in removed {
            assert!(all.insert(id), "{id} removed twice");
        }
    }
    for (id, _) in db.drain() {
        assert!(all.insert(id), "{id} removed twice");
    }
    assert_eq!(all.len(), 4 * per_thread as usize);
    assert!(db.is_empty());
}

/// Through the server: the CLI's lookup by address finds the client the CAS stored.
#[test]
fn server_finds_clients_by_address() {
    let (server, events) = start_default();
    let c = connect(addr(&server));
    let record = events.expect_connected(TIMEOUT).unwrap();
    assert_eq!(server.find_client(c.local_addr().unwrap()), Some(record));
    assert_eq!(server.find_client(peer(1)), None);
}
