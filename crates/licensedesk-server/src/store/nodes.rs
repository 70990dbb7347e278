//! What the nodes sharing one database must agree on: the signing keys.
//!
//! Every node is given the same keys directory (the private keys stay in
//! files, never in the database); the database keeps the public keys the
//! nodes sign with (`meta.signing_keys`: key id → public key), so a node
//! started with other keys (a fresh data dir that would make a key of its
//! own, or a copy from before a rotation) refuses to start instead of
//! signing licenses no client trusts.

use std::collections::BTreeMap;

use crate::db::Conn;
use crate::error::{ApiError, Result};
use crate::store::{Ctx, Store, read, write};

/// Key id → public key (base64url), as the node's key set publishes them.
pub type PublicKeys = BTreeMap<String, String>;

/// How a node's keys compare with those the database records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeysAgree {
    /// The first node: its keys are recorded now.
    Recorded,
    /// The same keys.
    Same,
    /// The node's keys are the recorded ones and more (a rotation made on
    /// this node's keys dir): the record takes the new key.
    Rotated,
    /// The node lacks a recorded key, or holds one under a recorded id
    /// with another public key: these are the recorded ones.
    Differ(PublicKeys),
}

async fn recorded(c: &impl Conn) -> Result<Option<PublicKeys>> {
    c.opt(
        "SELECT value FROM meta WHERE key = 'signing_keys'",
        &[],
        |r| r.string(0),
    )
    .await?
    .map(|v| serde_json::from_str(&v).map_err(ApiError::from))
    .transpose()
}

async fn agree(c: &impl Conn, node: &PublicKeys) -> Result<KeysAgree> {
    let text = serde_json::to_string(node)?;
    let Some(db) = recorded(c).await? else {
        c.exec(
            "INSERT INTO meta (key, value) VALUES ('signing_keys', $1)",
            &[&text],
        )
        .await?;
        return Ok(KeysAgree::Recorded);
    };
    if &db == node {
        return Ok(KeysAgree::Same);
    }
    if db.iter().all(|(kid, key)| node.get(kid) == Some(key)) {
        c.exec(
            "UPDATE meta SET value = $1 WHERE key = 'signing_keys'",
            &[&text],
        )
        .await?;
        return Ok(KeysAgree::Rotated);
    }
    Ok(KeysAgree::Differ(db))
}

impl Store {
    /// The public keys the database records for its nodes, if any.
    pub async fn signing_keys(&self) -> Result<Option<PublicKeys>> {
        read!(self, [], |c| recorded(c)).await
    }

    /// Compares a starting node's public keys with the database's record
    /// (recording them when there is none, taking a rotation).
    pub async fn agree_signing_keys(&self, ctx: &Ctx, node: PublicKeys) -> Result<KeysAgree> {
        write!(self, ctx, [node], |c| agree(c, &node)).await
    }
}
