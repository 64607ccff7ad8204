-- Subscriptions become consecutive segments of a customer's history: a plan change, a pause or a resume
-- ends one row and opens the next. A row's status is what it was while it ran (PAUSED rows pay no fee).
DROP INDEX subscriptions_one_live;
ALTER TABLE subscriptions ADD COLUMN auto_renew boolean NOT NULL DEFAULT true;
UPDATE subscriptions SET status = 'ACTIVE' WHERE status = 'CANCELLED' AND ended_on IS NOT NULL;
CREATE UNIQUE INDEX subscriptions_one_open ON subscriptions (user_id) WHERE ended_on IS NULL;
CREATE INDEX subscriptions_user_start ON subscriptions (user_id, started_on);

-- Usage-threshold alerts are raised once per customer, period and threshold.
ALTER TABLE billing_alerts ADD COLUMN period_start date, ADD COLUMN threshold integer;
CREATE UNIQUE INDEX billing_alerts_once_per_threshold ON billing_alerts (user_id, type, period_start, threshold)
    WHERE type = 'USAGE_THRESHOLD';
CREATE UNIQUE INDEX billing_alerts_once_per_invoice ON billing_alerts (user_id, type, invoice_id)
    WHERE invoice_id IS NOT NULL AND type = 'INVOICE_OVERDUE';
