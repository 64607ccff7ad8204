-- Issue 3: VAT treatment on invoices, credits applied at issue, credit notes for cancelled invoices.
ALTER TABLE invoices
    ADD COLUMN tax_category text NOT NULL DEFAULT 'S' CHECK (tax_category IN ('S', 'AE', 'G')),
    ADD COLUMN tax_mention text,
    ADD COLUMN credits_applied_minor bigint NOT NULL DEFAULT 0 CHECK (credits_applied_minor >= 0),
    ADD CONSTRAINT invoices_credits_within_total CHECK (credits_applied_minor <= total_minor);

CREATE INDEX credits_user ON credits (user_id, expires_on NULLS LAST, created_at);

CREATE INDEX payments_invoice ON payments (invoice_id);

-- One credit note per cancelled issued invoice, numbered AVO-{year}-{000001} in its own gapless sequence.
CREATE TABLE credit_notes (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    invoice_id            uuid NOT NULL UNIQUE REFERENCES invoices(id),
    user_id               uuid NOT NULL REFERENCES users(id),
    number                text NOT NULL UNIQUE,
    currency              char(3) NOT NULL,
    subtotal_minor        bigint NOT NULL CHECK (subtotal_minor >= 0),
    tax_minor             bigint NOT NULL CHECK (tax_minor >= 0),
    total_minor           bigint NOT NULL CHECK (total_minor = subtotal_minor + tax_minor),
    issue_date            date NOT NULL,
    reason                text,
    pdf_key               text NOT NULL,
    pdf_size              bigint,
    pdf_sha256            text,
    pdf_etag              text,
    document_recorded_at  timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now()
);
