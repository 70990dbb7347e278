//! Floating pools as the account sees them (its API token): each pool's
//! live leases with their time left and the usage their heartbeats carry
//! (recorded as usage samples of the registry's gateways), releasing a
//! lease; and order lookup.

use chrono::{DateTime, Utc};
use licensedesk_core::gateway::InUse;

use licensedesk_protocol::api::{floating, gateways};

use crate::dto::{LeaseView, OrderActivationView, OrderView, PoolView};
use crate::error::Result;
use crate::registry::Registry;
use crate::server::ServerApi;

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

    /// The server's pool as the UI shows it: each lease's gateway named by
    /// the registry, its time left by the server's clock.
    fn pool_view(&self, p: floating::PoolView) -> PoolView {
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
        let o = api.lookup_order(order_no.trim(), email.trim()).await?;
        Ok(self.order_view(o))
    }

    /// The server's order as the UI shows it: each activation's hardware
    /// named when it is a registry gateway.
    fn order_view(&self, o: gateways::OrderView) -> OrderView {
        let activations = o
            .activations
            .into_iter()
            .map(|a| {
                let (_, gateway_name, this_machine) = self.gateway_of(&a.fingerprint);
                OrderActivationView {
                    fingerprint: a.fingerprint,
                    gateway_name,
                    this_machine,
                    license_id: a.license_id,
                    issued_at: a.issued_at,
                    reissued: a.reissued,
                }
            })
            .collect();
        OrderView {
            order_no: o.order_no,
            product: o.product,
            customer: o.customer,
            activation_code: o.activation_code,
            quantity: o.quantity,
            used: o.used,
            remaining: o.remaining,
            max_connections: o.max_connections,
            max_tags: o.max_tags,
            plugins: o.plugins,
            validity_days: o.validity_days,
            activations,
        }
    }
}
