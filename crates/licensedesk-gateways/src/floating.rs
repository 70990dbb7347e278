//! Floating pools as the account sees them (its API token): each pool's
//! live leases with their time left and the usage their heartbeats carry
//! (recorded as usage samples of the registry's gateways), releasing a
//! lease; and order lookup.

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::InUse;

use crate::dto::{LeaseView, OrderView, PoolView};
use crate::error::Result;
use crate::registry::Registry;
use crate::server::{PoolReply, ServerApi};

impl Registry {
    /// The registry's gateway of hardware `fp`: (id, name, this machine).
    fn gateway_of(&self, fp: &str) -> (Option<String>, Option<String>, bool) {
        let state = self.lock();
        match Self::by_hardware(&state, fp) {
            Some(i) => {
                let r = &state.gateways[i];
                (Some(r.id.clone()), Some(r.name.clone()), r.this_machine)
            }
            None => (None, None, false),
        }
    }

    fn pool_view(&self, p: PoolReply) -> PoolView {
        let leases = p
            .leases
            .into_iter()
            .map(|l| {
                let (gateway_id, gateway_name, this_machine) = self.gateway_of(&l.fingerprint);
                let left = (l.expires_at - p.server_time).num_seconds().max(0);
                LeaseView {
                    fingerprint: l.fingerprint,
                    gateway_id,
                    gateway_name,
                    this_machine,
                    points: l.points,
                    claimed_at: l.claimed_at,
                    expires_at: l.expires_at,
                    seconds_left: u32::try_from(left).unwrap_or(u32::MAX),
                    connections: l.usage.map(|u| u.connections),
                    tags: l.usage.map(|u| u.tags),
                    usage_at: l.usage_at,
                }
            })
            .collect();
        PoolView {
            name: p.name,
            points: p.points,
            in_use: p.in_use,
            ttl_seconds: p.ttl_seconds,
            plugins: p.plugins,
            leases,
        }
    }

    /// The account's floating pools with their live leases (online); the
    /// usage the leases' heartbeats carried is recorded for the registry's
    /// gateways.
    pub async fn pools(&self, api: &ServerApi) -> Result<Vec<PoolView>> {
        let pools = api.pools().await?;
        let usage: Vec<(String, InUse, DateTime<Utc>)> = pools
            .iter()
            .flat_map(|p| &p.leases)
            .filter_map(|l| {
                let u = l.usage?;
                Some((
                    l.fingerprint.clone(),
                    InUse {
                        connections: u.connections,
                        tags: u.tags,
                    },
                    l.usage_at?,
                ))
            })
            .collect();
        self.record_heartbeat_usage(&usage)?;
        Ok(pools.into_iter().map(|p| self.pool_view(p)).collect())
    }

    /// Releases gateway `fingerprint`'s lease in pool `pool` (online): its
    /// points return to the pool; the gateway's floating license expires
    /// with the lease's time-to-live. Returns the pool after.
    pub async fn release_lease(
        &self,
        api: &ServerApi,
        pool: &str,
        fingerprint: &str,
    ) -> Result<PoolView> {
        Ok(self.pool_view(api.release_lease(pool, fingerprint).await?))
    }

    /// Looks up an order (order number + e-mail): its code, quantity, used,
    /// remaining, and each activation's hardware (named when it is a
    /// registry gateway) and date.
    pub async fn lookup_order(
        &self,
        api: &ServerApi,
        order_no: &str,
        email: &str,
    ) -> Result<OrderView> {
        let mut o = api.lookup_order(order_no.trim(), email.trim()).await?;
        for a in &mut o.activations {
            (_, a.gateway_name, a.this_machine) = self.gateway_of(&a.fingerprint);
        }
        Ok(o)
    }
}
