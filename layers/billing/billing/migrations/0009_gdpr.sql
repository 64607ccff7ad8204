-- GDPR: where a consent came from; invoices whose retention ended are purged (PDF deleted, buyer removed).
ALTER TABLE gdpr_consents ADD COLUMN source text NOT NULL DEFAULT 'api';
ALTER TABLE invoices ADD COLUMN purged_at timestamptz;
