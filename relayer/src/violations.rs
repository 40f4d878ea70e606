//! Finality violations (DESIGN §3): a reorg deeper than a source's finality rule took away
//! burns the relayer had read as final. The watcher names them and the feed notes their
//! hashes (durably, before its cursor moves); the pipeline applies the notes at the start of
//! a tick — it is the only writer of records, so no step holds a stale copy — marking the
//! records (and, not yet delivered, failing them: nothing backs them any more). A later burn
//! that reuses such a message's (source, nonce) toward the same destination, where the
//! orphaned message was delivered, is failed with the reason instead of being called
//! "delivered": `usedNonces` was set by the orphaned message, so its recipient got nothing.
//! The protocol cannot undo either; operators must see it.

use crate::store::{Store, StoreError};
use usd1_core::state::{HistoryEntry, MessageRecord, MessageState};
use usd1_core::{Domain, B256};
use usd1_runtime::now_ms;

const NOTES: &str = "finality_violations/noted";

/// Notes hashes the watcher named, for the pipeline's next tick (durable on return).
pub async fn note(store: &Store, hashes: &[B256]) -> Result<(), StoreError> {
    let tree = store.db().open_tree(NOTES)?;
    let owned = hashes.to_vec();
    usd1_runtime::blocking(move || {
        for h in &owned {
            tree.insert(h.as_slice(), &[])?;
        }
        tree.flush().map(|_| ())
    })
    .await??;
    Ok(())
}

/// Marks the records of the noted hashes, then forgets the notes (the pipeline, at the start
/// of a tick).
pub async fn apply_noted(store: &Store) -> Result<usize, StoreError> {
    let tree = store.db().open_tree(NOTES)?;
    let t = tree.clone();
    let noted: Vec<B256> = usd1_runtime::blocking(move || {
        t.iter()
            .keys()
            .filter_map(|k| {
                k.ok()
                    .filter(|k| k.len() == 32)
                    .map(|k| B256::from_slice(&k))
            })
            .collect()
    })
    .await?;
    if noted.is_empty() {
        return Ok(0);
    }
    let marked = mark(store, &noted).await?;
    usd1_runtime::blocking(move || {
        for h in &noted {
            tree.remove(h.as_slice())?;
        }
        tree.flush().map(|_| ())
    })
    .await??;
    Ok(marked)
}

const ORPHANED: &str =
    "finality violation: its burn was read as final, then reorged away from the source";

/// Marks the records of `hashes` (those this relayer has) and makes it durable.
async fn mark(store: &Store, hashes: &[B256]) -> Result<usize, StoreError> {
    let mut marked = 0;
    for hash in hashes {
        let Some(mut r) = store.get(hash).await? else {
            continue;
        };
        if r.finality_violated {
            continue;
        }
        r.finality_violated = true;
        tracing::error!(message_hash = %hash, source = r.source_domain.0, nonce = r.nonce,
            state = r.state.name(), "finality violation: the burn is gone from the source");
        match r.state {
            MessageState::Observed | MessageState::Attesting | MessageState::Attested => {
                let reason = ORPHANED.to_string();
                r.transition(MessageState::Failed { reason }, now_ms(), None);
            }
            // Delivered or in flight: it stays what it is, marked.
            _ => r.history.push(HistoryEntry {
                at_ms: now_ms(),
                state: "finality_violated".into(),
                tx_hash: None,
                detail: Some(ORPHANED.into()),
            }),
        }
        store.save(&r, None).await?;
        marked += 1;
        // Burns that reused its (source, nonce) and were called delivered because of its
        // receipt were not: say so (the orphan is named only once its window passed).
        for mut later in store.by_nonce(r.source_domain, r.nonce).await? {
            if later.state != MessageState::Delivered || later.message_hash == r.message_hash {
                continue;
            }
            if let Some(reason) = nonce_taken_by_orphan(store, &later).await? {
                tracing::error!(message_hash = %later.message_hash, reason, "called delivered, but its recipient got nothing");
                later.transition(MessageState::Failed { reason }, now_ms(), None);
                store.save(&later, None).await?;
            }
        }
    }
    store.flush().await?;
    Ok(marked)
}

/// When `r`'s (source, nonce) was used by another message since orphaned by a finality
/// violation: the reason `r` must fail with (its recipient got nothing).
pub async fn nonce_taken_by_orphan(
    store: &Store,
    r: &MessageRecord,
) -> Result<Option<String>, StoreError> {
    let others = store.by_nonce(r.source_domain, r.nonce).await?;
    // Only an orphaned message that set this destination's `usedNonces` (it was delivered
    // there) explains the receipt; nonces are per source, `usedNonces` per destination.
    Ok(others
        .iter()
        .find(|o| {
            o.finality_violated
                && o.message_hash != r.message_hash
                && o.destination_domain == r.destination_domain
                && matches!(
                    o.state,
                    MessageState::Confirmed { .. } | MessageState::Delivered
                )
        })
        .map(|o| reason(r.source_domain, r.nonce, &o.message_hash)))
}

fn reason(source: Domain, nonce: u64, orphan: &str) -> String {
    format!(
        "finality violation: (source {}, nonce {nonce}) was already used on the destination by the orphaned message {orphan}; nothing will be minted for this burn",
        source.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: u8, nonce: u64, state: MessageState) -> MessageRecord {
        let mut r = crate::feed::new_record(
            &usd1_core::Message {
                version: 0,
                source_domain: Domain(0),
                destination_domain: Domain(6),
                nonce,
                sender: B256::ZERO,
                recipient: B256::ZERO,
                destination_caller: B256::ZERO,
                body: vec![hash],
            },
            &[hash],
            "0xtx",
            1,
            1,
        );
        r.state = state;
        r
    }

    #[tokio::test]
    async fn orphaned_records_are_marked_and_a_reused_nonce_is_named() {
        let store = Store::open(sled::Config::new().temporary(true).open().unwrap()).unwrap();
        let pending = record(1, 5, MessageState::Attested);
        let minted = record(2, 6, MessageState::Delivered);
        let later = record(3, 6, MessageState::Observed);
        for r in [&pending, &minted, &later] {
            store.observe(r).await.unwrap();
        }
        let hashes: Vec<B256> = [&pending, &minted]
            .iter()
            .map(|r| r.message_hash.parse().unwrap())
            .collect();
        note(&store, &hashes).await.unwrap();
        assert_eq!(apply_noted(&store).await.unwrap(), 2);
        note(&store, &hashes).await.unwrap();
        assert_eq!(apply_noted(&store).await.unwrap(), 0, "marked once");
        assert_eq!(apply_noted(&store).await.unwrap(), 0, "notes forgotten");

        let p = store.get(&hashes[0]).await.unwrap().unwrap();
        assert!(p.finality_violated);
        assert!(
            matches!(p.state, MessageState::Failed { .. }),
            "not delivered: failed"
        );
        let m = store.get(&hashes[1]).await.unwrap().unwrap();
        assert!(m.finality_violated);
        assert_eq!(
            m.state,
            MessageState::Delivered,
            "what happened stays, marked"
        );

        let why = nonce_taken_by_orphan(&store, &later)
            .await
            .unwrap()
            .unwrap();
        assert!(why.contains(&minted.message_hash), "{why}");
        assert_eq!(nonce_taken_by_orphan(&store, &pending).await.unwrap(), None);
    }
}
