//! Key trust: a rotated key is accepted through the chain, a foreign or
//! altered key set is refused (at every byte), nothing trusted is dropped.

use licensedesk_core::Coded;
use licensedesk_core::keys::{KeySet, SigningKeyWithKid};
use licensedesk_core::license::{sign_license, verify_license};
use licensedesk_core::trust::{SignedKeySet, accept, key_fingerprint, key_infos, link};
use proptest::prelude::*;

use crate::support::*;

fn entry(k: &SigningKeyWithKid, day: u32) -> licensedesk_core::keys::PublicKeyEntry {
    k.public_entry(at(2026, 1, day, 0))
}

/// A server's life: k1 alone, then rotated to k2, then to k3 (each new set
/// signed by the key current before it).
struct Server {
    k: [SigningKeyWithKid; 3],
    docs: Vec<SignedKeySet>,
}

fn server() -> Server {
    let k = [key("k1", 1), key("k2", 2), key("k3", 3)];
    let s1 = KeySet::single(entry(&k[0], 1)).expect("set");
    let d1 = SignedKeySet::new(s1.clone(), Vec::new());
    let s2 = s1.with_key(entry(&k[1], 2), true).expect("set");
    let d2 = d1.rotated(s2.clone(), &k[0]);
    let s3 = s2.with_key(entry(&k[2], 3), true).expect("set");
    let d3 = d2.rotated(s3, &k[1]);
    Server {
        k,
        docs: vec![d1, d2, d3],
    }
}

fn code<T>(r: Result<T, impl Coded>) -> Result<T, &'static str> {
    r.map_err(|e| e.code())
}

fn kids(set: &KeySet) -> Vec<&str> {
    set.entries().iter().map(|e| e.kid.as_str()).collect()
}

#[test]
fn a_rotated_key_is_accepted_through_the_chain() {
    let s = server();
    let pinned = s.docs[0].keyset().clone();
    // Two rotations behind: both links walked.
    let served = SignedKeySet::from_json(s.docs[2].to_json().as_bytes()).expect("parse");
    let up = accept(&pinned, &served).expect("chains");
    assert_eq!(kids(&up.set), ["k1", "k2", "k3"]);
    assert_eq!(up.set.current(), "k3");
    assert_eq!(up.added, ["k2", "k3"]);
    assert!(up.changed(&pinned));
    // One rotation behind: the first link adds nothing new, the second k3.
    let up2 = accept(s.docs[1].keyset(), &served).expect("chains");
    assert_eq!(up2.added, ["k3"]);
    assert_eq!(up2.set, up.set);
    // The server may list its keys in another order (keys created in the
    // same instant sort by id): the same set.
    let mut reordered: Vec<_> = served.keyset().entries().to_vec();
    reordered.reverse();
    let reordered = SignedKeySet::new(
        KeySet::new(reordered, served.keyset().current()).expect("set"),
        served.chain().to_vec(),
    );
    assert_eq!(
        accept(&pinned, &reordered).expect("chains").added,
        ["k3", "k2"]
    );
    // Up to date: nothing changes.
    let same = accept(&up.set, &served).expect("same");
    assert!(same.added.is_empty() && !same.changed(&up.set));
    // A license of the new key verifies with what is trusted now, not before.
    let lic = sign_license(&payload(), &s.k[2]);
    assert!(verify_license(lic.as_bytes(), &up.set).is_ok());
    assert_eq!(
        code(verify_license(lic.as_bytes(), &pinned)),
        Err("LICENSE_KID_UNKNOWN")
    );
}

#[test]
fn a_foreign_key_set_is_refused_and_names_the_key() {
    let s = server();
    let pinned = s.docs[2].keyset().clone();
    let evil = key("ev1", 9);
    // An impostor's own set, self-signed rotations included.
    let e1 = KeySet::single(entry(&evil, 1)).expect("set");
    let e2 = e1
        .clone()
        .with_key(entry(&key("ev2", 10), 2), true)
        .expect("set");
    let foreign = SignedKeySet::new(e1, Vec::new()).rotated(e2, &evil);
    let err = accept(&pinned, &foreign).expect_err("foreign");
    assert_eq!(err.code(), "KEYSET_UNTRUSTED");
    let fp = key_fingerprint(&evil.verifying_key());
    assert!(
        err.to_string().contains("ev1") && err.to_string().contains(&fp),
        "{err}"
    );
    // The impostor keeps the trusted keys and slips its own in, endorsed by itself.
    let slipped = pinned.clone().with_key(entry(&evil, 4), true).expect("set");
    let doc = s.docs[2].rotated(slipped, &evil);
    assert_eq!(code(accept(&pinned, &doc)), Err("KEYSET_UNTRUSTED"));
    // Or rebinds a trusted key id to its own public key.
    let rebound = KeySet::single(entry(&key("k3", 9), 3)).expect("set");
    assert_eq!(
        code(accept(&pinned, &SignedKeySet::new(rebound, Vec::new()))),
        Err("KEYSET_KEY_CONFLICT")
    );
    // A plain set of the trusted keys is fine; one adding a key is not.
    assert!(accept(&pinned, &SignedKeySet::new(pinned.clone(), Vec::new())).is_ok());
    let more = pinned
        .clone()
        .with_key(entry(&evil, 5), false)
        .expect("set");
    assert_eq!(
        code(accept(&pinned, &SignedKeySet::new(more, Vec::new()))),
        Err("KEYSET_UNTRUSTED")
    );
}

#[test]
fn a_link_that_does_not_verify_or_does_not_match_is_refused() {
    let s = server();
    let pinned = s.docs[0].keyset().clone();
    // The last link signed a set, the served one says another current key.
    let s3 = s.docs[2].keyset().clone();
    let wrong_current = KeySet::new(s3.entries().to_vec(), "k2").expect("set");
    let doc = SignedKeySet::new(wrong_current, s.docs[2].chain().to_vec());
    assert_eq!(code(accept(&pinned, &doc)), Err("KEYSET_CHAIN_INVALID"));
    // A link by a trusted key over other bytes.
    let mut chain = s.docs[2].chain().to_vec();
    chain[0].payload = chain[1].payload.clone();
    let doc = SignedKeySet::new(s3.clone(), chain);
    assert_eq!(code(accept(&pinned, &doc)), Err("KEYSET_CHAIN_INVALID"));
    // Links out of order: k2's link cannot be checked before k2 is trusted.
    let mut chain = s.docs[2].chain().to_vec();
    chain.reverse();
    let doc = SignedKeySet::new(s3.clone(), chain);
    assert!(accept(&pinned, &doc).is_err());
    // A proper link of the last set, but signed by the new key itself.
    let doc = s.docs[1].rotated(s3, &s.k[2]);
    assert_eq!(code(accept(&pinned, &doc)), Err("KEYSET_UNTRUSTED"));
}

/// No single-byte change of a served key set makes a client trust anything
/// but what the original makes it trust: every change is refused, or is
/// another spelling of the same set.
#[test]
fn every_single_byte_change_of_a_served_key_set_is_refused() {
    let s = server();
    let pinned = s.docs[0].keyset().clone();
    let text = s.docs[2].to_json().into_bytes();
    let good = accept(
        &pinned,
        &SignedKeySet::from_json(&text).expect("the original parses"),
    )
    .expect("the original chains");
    assert_eq!(good.added, ["k2", "k3"]);
    let mut codes = std::collections::BTreeSet::new();
    for pos in 0..text.len() {
        for replacement in [b'A', b'0', b'"', b' ', text[pos] ^ 0x01] {
            if replacement == text[pos] {
                continue;
            }
            let mut mutated = text.clone();
            mutated[pos] = replacement;
            let outcome = SignedKeySet::from_json(&mutated).and_then(|doc| accept(&pinned, &doc));
            match outcome {
                // Another spelling of the same document (chrono reads a
                // time with a space for a leading zero): it trusts exactly
                // what the original does, nothing else.
                Ok(up) => assert_eq!(
                    up, good,
                    "byte {pos} ({:?} → {:?}) changed what is trusted",
                    text[pos] as char, replacement as char
                ),
                Err(e) => {
                    codes.insert(e.code());
                }
            }
        }
    }
    // The mutations reach every stage: parsing, the links, the final check.
    for want in [
        "KEYSET_MALFORMED",
        "KEYSET_CHAIN_INVALID",
        "KEYSET_UNTRUSTED",
    ] {
        assert!(codes.contains(want), "{want} never seen: {codes:?}");
    }
}

#[test]
fn the_document_round_trips_and_reads_as_a_plain_key_set() {
    let s = server();
    let json = s.docs[2].to_json();
    assert_eq!(
        SignedKeySet::from_json(json.as_bytes()).expect("parse"),
        s.docs[2]
    );
    // Clients that know no chain read the keys and the current one.
    let plain = KeySet::from_json(json.as_bytes()).expect("plain");
    assert_eq!(&plain, s.docs[2].keyset());
    // A plain key set file (ldctl keygen, an older server) has no chain.
    let doc = SignedKeySet::from_json(plain.to_json().as_bytes()).expect("plain file");
    assert!(doc.chain().is_empty());
    assert!(!s.docs[0].to_json().contains("chain"));
    // Fingerprints: 8 groups of 4 hex digits, one per key, current marked.
    let infos = key_infos(s.docs[2].keyset());
    assert_eq!(infos.len(), 3);
    assert!(infos.iter().all(|i| i.fingerprint.len() == 39));
    assert_eq!(
        infos
            .iter()
            .filter(|i| i.current)
            .map(|i| i.kid.as_str())
            .collect::<Vec<_>>(),
        ["k3"]
    );
    let link = link(s.docs[1].keyset(), &s.k[0]);
    assert_eq!(link, s.docs[1].chain()[0]);
    let big = vec![b' '; licensedesk_core::trust::MAX_SIGNED_KEYSET_LEN + 1];
    assert_eq!(code(SignedKeySet::from_json(&big)), Err("KEYSET_TOO_LARGE"));
    assert_eq!(
        code(SignedKeySet::from_json(br#"{"keys":[],"current":"x"}"#)),
        Err("KEYSET_EMPTY")
    );
}

proptest! {
    #[test]
    fn parsing_and_accepting_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let pinned = KeySet::single(key("k1", 1).public_entry(at(2026, 1, 1, 0))).expect("set");
        if let Ok(doc) = SignedKeySet::from_json(&bytes) {
            let _ = accept(&pinned, &doc);
        }
    }
}
