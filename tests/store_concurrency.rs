//! Several processes writing one store at once lose no update: each makes many read-modify-write
//! changes to one shared record, many records of its own, and many port reservations, all at
//! the same time as the others. Afterwards every change is there exactly once and the fencing
//! epoch counts every commit.
//!
//! The writers are this test binary run again as child processes (real processes, real files,
//! real `flock`): the `writer` test does nothing unless the parent sets `KHUTULUN_TEST_WRITER`.
//! Each reserves its ports as an agent does, through the port ledger and its own LockManager.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use khutulun::actors::StorePortLedger;
use khutulun::actors::lock_manager::{LockManager, LockManagerRef};
use khutulun::delegates::ipport::{PortLedger, PortTable};
use khutulun::delegates::profile::Protocol;
use khutulun::state::Store;
use khutulun::state::records::HostRecord;
use serde::{Deserialize, Serialize};

const WRITERS: usize = 4;
const WRITES: usize = 30;

/// A record every writer appends to: a lost update would lose an entry.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    entries: Vec<String>,
}

fn journal_path(store: &Store) -> std::path::PathBuf {
    store.layout().root().join("test/journal.yaml")
}

async fn write_as(root: &Path, writer: usize) {
    let store = Store::open(root).expect("the store opens");
    let (lock_manager, _) = ractor::Actor::spawn(None, LockManager, store.clone())
        .await
        .expect("the lock manager starts");
    let ledger = StorePortLedger::new(store.clone(), LockManagerRef(lock_manager));
    for write in 0..WRITES {
        let entry = format!("w{writer}-{write}");
        store
            .transact(|tx| {
                let path = journal_path(&store);
                let mut journal: Journal = tx.read(&path)?.unwrap_or_default();
                journal.entries.push(entry.clone());
                tx.put(&path, &journal)
            })
            .expect("the journal is appended to");
        store
            .put_host(&HostRecord::new(&entry, "now"))
            .expect("a record of its own is written");
        let owner = format!("writers/{entry}");
        ledger
            .update(
                "shared",
                Box::new(move |table: &mut PortTable| {
                    table
                        .reserve(
                            &owner,
                            Protocol::Tcp,
                            0,
                            &(30000..=39999),
                            "shared",
                            &|_, _| true,
                        )
                        .map(|_| ())
                }),
            )
            .await
            .expect("a port is reserved");
    }
}

/// The child side: runs only when the parent asks for it.
#[tokio::test]
async fn writer() {
    let (Ok(root), Ok(writer)) = (
        std::env::var("KHUTULUN_TEST_STORE"),
        std::env::var("KHUTULUN_TEST_WRITER"),
    ) else {
        return;
    };
    write_as(Path::new(&root), writer.parse().expect("a writer number")).await;
}

#[test]
fn concurrent_writers_in_several_processes_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let epoch_before = store.epoch().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "writer", "--nocapture", "--test-threads=1"])
                .env("KHUTULUN_TEST_STORE", dir.path())
                .env("KHUTULUN_TEST_WRITER", writer.to_string())
                .spawn()
                .expect("a writer process starts")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }

    let journal: Journal = store.read(&journal_path(&store)).unwrap().unwrap();
    let unique: HashSet<&String> = journal.entries.iter().collect();
    assert_eq!(
        journal.entries.len(),
        WRITERS * WRITES,
        "entries were lost or doubled"
    );
    assert_eq!(unique.len(), WRITERS * WRITES);

    let hosts = store.list_hosts().unwrap();
    assert_eq!(hosts.len(), WRITERS * WRITES);

    let table: PortTable = store
        .read(&store.layout().ports("shared"))
        .unwrap()
        .unwrap();
    let ports: HashSet<u16> = table.reservations.iter().map(|r| r.port).collect();
    let owners: HashSet<&String> = table.reservations.iter().map(|r| &r.owner).collect();
    assert_eq!(table.reservations.len(), WRITERS * WRITES);
    assert_eq!(ports.len(), WRITERS * WRITES, "a port was handed out twice");
    assert_eq!(owners.len(), WRITERS * WRITES);

    // Every commit raised the epoch by exactly one.
    assert_eq!(
        store.epoch().unwrap(),
        epoch_before + (3 * WRITERS * WRITES) as u64
    );
}
