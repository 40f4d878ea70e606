//! Proof building against a fake destination and fake co-signers: which proof each verifier
//! gets, and how refusals and outages of co-signers are read.

use super::*;
use std::sync::Mutex;
use usd1_core::proof::Unsigned;
use usd1_core::traits::{DryRun, TxStatus};
use usd1_core::{Domain, Message};

/// Records what it was asked to build; signs whatever it is given.
#[derive(Default)]
struct Chain {
    proofs: Mutex<Vec<Proof>>,
    finished_with: Mutex<Vec<Vec<[u8; 64]>>>,
}

fn pending(tag: &str) -> PendingTx {
    PendingTx {
        tx_hash: tag.into(),
        raw: String::new(),
        sequence: None,
        sent_at_ms: 0,
        valid_until: None,
    }
}

#[async_trait]
impl Destination for Chain {
    fn domain(&self) -> Domain {
        Domain(5)
    }
    async fn is_received(&self, _: &Message) -> Result<bool, ChainError> {
        Ok(false)
    }
    async fn simulate_delivery(&self, _: &[u8], _: &[u8]) -> Result<DryRun, ChainError> {
        Ok(DryRun::Succeeds)
    }
    async fn prepare_delivery(
        &self,
        message: &[u8],
        proof: &Proof,
        _: Slot,
    ) -> Result<Prepared, ChainError> {
        self.proofs.lock().unwrap().push(proof.clone());
        Ok(match proof {
            Proof::Attestation(_) => Prepared::Signed(pending("attested")),
            Proof::CoSigners(keys) => Prepared::NeedsCoSignatures(Unsigned {
                message: [message, &keys.concat()].concat(),
                signers: keys.clone(),
                draft: Box::new(()),
            }),
        })
    }
    async fn finish_delivery(
        &self,
        _: Unsigned,
        signatures: Vec<[u8; 64]>,
    ) -> Result<PendingTx, ChainError> {
        self.finished_with.lock().unwrap().push(signatures);
        Ok(pending("cosigned"))
    }
    async fn broadcast(&self, _: &PendingTx) -> Result<(), ChainError> {
        Ok(())
    }
    async fn tx_status(&self, _: &str, _: Option<u64>) -> Result<TxStatus, ChainError> {
        Ok(TxStatus::Unknown)
    }
    async fn verifier(&self) -> Result<Verifier, ChainError> {
        unreachable!("the caller passes the verifier")
    }
}

/// Attester `i` has key `[i; 32]` and answers as `answers[i]` says (`None`: it signs).
struct Attesters {
    answers: Vec<Option<CoSignError>>,
    asked: Mutex<Vec<(String, Vec<u8>)>>,
}

impl Attesters {
    fn new(answers: Vec<Option<CoSignError>>) -> Self {
        Self {
            answers,
            asked: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl CoSigners for Attesters {
    async fn reachable(&self) -> Vec<(String, [u8; 32])> {
        (0..self.answers.len())
            .map(|i| (format!("a{i}"), [i as u8; 32]))
            .collect()
    }
    async fn cosign(
        &self,
        attester: &str,
        key: &[u8; 32],
        _: &B256,
        transaction: &[u8],
    ) -> Result<[u8; 64], CoSignError> {
        self.asked
            .lock()
            .unwrap()
            .push((attester.into(), transaction.to_vec()));
        match &self.answers[key[0] as usize] {
            Some(e) => Err(e.clone()),
            None => Ok([key[0]; 64]),
        }
    }
}

fn members(n: u8) -> Vec<[u8; 32]> {
    (0..n).map(|i| [i; 32]).collect()
}

async fn deliver(
    chain: &Chain,
    verifier: Verifier,
    attesters: &Attesters,
) -> Result<PendingTx, ChainError> {
    let d = Delivery {
        message: b"msg",
        hash: &B256::ZERO,
        attestation: b"sigs",
    };
    signed_delivery(chain, &verifier, attesters, &d, Slot::first(Some(7))).await
}

#[tokio::test]
async fn an_attestation_verifier_gets_the_stored_attestation_and_no_attester_is_asked() {
    let (chain, attesters) = (Chain::default(), Attesters::new(vec![None; 3]));
    let verifier = Verifier::Attestation {
        attesters: vec![],
        threshold: 2,
    };
    let tx = deliver(&chain, verifier, &attesters).await.unwrap();
    assert_eq!(tx.tx_hash, "attested");
    assert_eq!(
        *chain.proofs.lock().unwrap(),
        vec![Proof::Attestation(b"sigs".to_vec())]
    );
    assert!(attesters.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn co_signers_sign_the_transaction_that_names_them_in_order() {
    let (chain, attesters) = (Chain::default(), Attesters::new(vec![None; 3]));
    let verifier = Verifier::CoSigners {
        members: members(3),
        threshold: 2,
    };
    let tx = deliver(&chain, verifier, &attesters).await.unwrap();
    assert_eq!(tx.tx_hash, "cosigned");
    assert_eq!(
        *chain.proofs.lock().unwrap(),
        vec![Proof::CoSigners(members(2))]
    );
    let asked = attesters.asked.lock().unwrap().clone();
    let built = [b"msg".as_slice(), &members(2).concat()].concat();
    assert_eq!(
        asked,
        vec![("a0".to_string(), built.clone()), ("a1".to_string(), built)],
        "each signs the bytes of the transaction that names the chosen signers"
    );
    assert_eq!(
        *chain.finished_with.lock().unwrap(),
        vec![vec![[0; 64], [1; 64]]]
    );
}

#[tokio::test]
async fn a_refusing_co_signer_is_replaced_and_the_transaction_rebuilt_without_it() {
    let refusal = Some(CoSignError::Refused("422".into()));
    let (chain, attesters) = (Chain::default(), Attesters::new(vec![refusal, None, None]));
    let verifier = Verifier::CoSigners {
        members: members(3),
        threshold: 2,
    };
    deliver(&chain, verifier, &attesters).await.unwrap();
    assert_eq!(
        *chain.proofs.lock().unwrap(),
        vec![
            Proof::CoSigners(vec![[0; 32], [1; 32]]),
            Proof::CoSigners(vec![[1; 32], [2; 32]])
        ]
    );
}

#[tokio::test]
async fn refusals_by_all_are_a_rejection_and_any_outage_is_transient() {
    let refused = || Some(CoSignError::Refused("409: already received".into()));
    let down = || Some(CoSignError::Unreachable("timeout".into()));
    let verifier = || Verifier::CoSigners {
        members: members(2),
        threshold: 2,
    };
    let all_refuse = Attesters::new(vec![refused(), refused()]);
    let e = deliver(&Chain::default(), verifier(), &all_refuse)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChainError::Rejected(w) if w.contains("409")),
        "{e}"
    );
    let one_down = Attesters::new(vec![down(), refused()]);
    let e = deliver(&Chain::default(), verifier(), &one_down)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::Rpc { .. }), "{e}");
}

#[tokio::test]
async fn keys_outside_the_multisig_are_never_asked() {
    let attesters = Attesters::new(vec![None; 3]);
    let verifier = Verifier::CoSigners {
        members: vec![[2; 32], [9; 32]],
        threshold: 2,
    };
    let e = deliver(&Chain::default(), verifier, &attesters)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::Rpc { .. }), "{e}");
    assert!(attesters.asked.lock().unwrap().is_empty());
}
