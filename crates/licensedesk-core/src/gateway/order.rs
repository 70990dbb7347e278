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

/// What a gateway already holds when an order's license is asked for it.
///
/// **Decision (one rule for re-activation).** A gateway holds at most one
/// license of one gateway product per account: of the same order, asking
/// again re-issues it and consumes nothing (domain.md §2); of *another*
/// order of the same product, asking is a conflict that names the order it
/// holds, and consumes nothing either. An order that names no product is
/// its own product. The same answer is given online, to an offline request
/// and when a field kit's ledger is reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// No license of this order or of its product.
    Nothing,
    /// A license of this very order.
    SameOrder,
    /// A license of another order of the same product.
    OtherOrder { order: String },
}

/// Why a gateway gets no license of an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(untagged)]
pub enum ActivationRefused {
    #[error(
        "order {order} has no license left ({activated} of {quantity} activated): buy more, or re-activate a gateway that already has one"
    )]
    Exhausted {
        order: String,
        activated: u32,
        quantity: u32,
    },
    #[error(
        "this gateway already holds a license of {product} from order {held}: it needs no second one (re-activate it with order {held}'s code)"
    )]
    AlreadyActivated { product: String, held: String },
}

impl Coded for ActivationRefused {
    fn params(&self) -> crate::error::Params {
        crate::error::params_of(self)
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Exhausted { .. } => "ORDER_EXHAUSTED",
            Self::AlreadyActivated { .. } => "HARDWARE_ALREADY_ACTIVATED",
        }
    }
}

/// Decides an activation of order `order` of `product` (`quantity`
/// licenses, `activated` already bound or reserved) for a gateway that
/// holds `held` (see [`Held`]).
pub fn decide_order_activation(
    order: &str,
    product: Option<&str>,
    held: &Held,
    activated: u32,
    quantity: u32,
) -> Result<OrderActivation, ActivationRefused> {
    match held {
        Held::SameOrder => Ok(OrderActivation::Reissue),
        Held::OtherOrder { order: other } => Err(ActivationRefused::AlreadyActivated {
            product: product.unwrap_or(order).to_owned(),
            held: other.clone(),
        }),
        Held::Nothing if activated < quantity => Ok(OrderActivation::Issue),
        Held::Nothing => Err(ActivationRefused::Exhausted {
            order: order.to_owned(),
            activated,
            quantity,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_license_per_hardware_and_product_and_reactivation_is_free() {
        use OrderActivation::*;
        let other = Held::OtherOrder {
            order: "ORD-0".into(),
        };
        let cases = [
            // (held, activated, quantity) → decision
            (Held::Nothing, 0, 3, Ok(Issue)),
            (Held::Nothing, 2, 3, Ok(Issue)),
            (Held::SameOrder, 3, 3, Ok(Reissue)),
            (Held::SameOrder, 1, 3, Ok(Reissue)),
            (Held::Nothing, 3, 3, Err("ORDER_EXHAUSTED")),
            (Held::Nothing, 0, 0, Err("ORDER_EXHAUSTED")),
            (other.clone(), 0, 3, Err("HARDWARE_ALREADY_ACTIVATED")),
            (other.clone(), 3, 3, Err("HARDWARE_ALREADY_ACTIVATED")),
        ];
        for (held, activated, quantity, want) in cases {
            let got =
                decide_order_activation("ORD-1", Some("edge-pro"), &held, activated, quantity)
                    .map_err(|e| e.code());
            assert_eq!(got, want, "{held:?} {activated}/{quantity}");
        }
        let e =
            decide_order_activation("ORD-1", Some("edge-pro"), &other, 0, 3).expect_err("conflict");
        assert!(e.to_string().contains("edge-pro from order ORD-0"), "{e}");
    }
}
