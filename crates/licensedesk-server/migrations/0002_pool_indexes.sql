-- Counting a product's pool (Total / Used / Remaining) and renewals read
-- every code of the product: index them all, not only the unconsumed ones.
CREATE INDEX codes_product ON codes(product_id, consumed_at);
CREATE INDEX gateway_activations_order ON gateway_activations(order_id);
