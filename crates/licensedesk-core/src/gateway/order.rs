//! Activation codes for gateway licenses (domain.md §2): an order holds N
//! licenses; activating binds one license one-to-one to a gateway's
//! hardware; activating the same hardware again re-issues its license and
//! consumes nothing.

use crate::error::Coded;

/// What activating an order's code for one gateway does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderActivation {
    /// This hardware already holds a license of the order: issue it again.
    Reissue,
    /// Bind a new license of the order to this hardware.
    Issue,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error(
    "order {order} has no license left ({activated} of {quantity} activated): buy more, or re-activate a gateway that already has one"
)]
pub struct OrderExhausted {
    pub order: String,
    pub activated: u32,
    pub quantity: u32,
}

impl Coded for OrderExhausted {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        "ORDER_EXHAUSTED"
    }
}

/// Decides an activation of order `order` (`quantity` licenses, `activated`
/// already bound) for a gateway that `already_bound` or not.
pub fn decide_order_activation(
    order: &str,
    already_bound: bool,
    activated: u32,
    quantity: u32,
) -> Result<OrderActivation, OrderExhausted> {
    if already_bound {
        Ok(OrderActivation::Reissue)
    } else if activated < quantity {
        Ok(OrderActivation::Issue)
    } else {
        Err(OrderExhausted {
            order: order.to_owned(),
            activated,
            quantity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_license_per_hardware_and_reactivation_is_free() {
        use OrderActivation::*;
        let cases = [
            // (already bound, activated, quantity) → decision
            (false, 0, 3, Ok(Issue)),
            (false, 2, 3, Ok(Issue)),
            (true, 3, 3, Ok(Reissue)),
            (true, 1, 3, Ok(Reissue)),
            (false, 3, 3, Err("ORDER_EXHAUSTED")),
            (false, 0, 0, Err("ORDER_EXHAUSTED")),
        ];
        for (bound, activated, quantity, want) in cases {
            let got =
                decide_order_activation("ORD-1", bound, activated, quantity).map_err(|e| e.code());
            assert_eq!(got, want, "{bound} {activated}/{quantity}");
        }
    }
}
