-- Billing tables and enums: profiles, plans, subscriptions, invoices, payments, credits, alerts, audit, consents.
CREATE TYPE invoice_status        AS ENUM ('DRAFT', 'SENT', 'PAID', 'OVERDUE', 'CANCELLED');
CREATE TYPE payment_status        AS ENUM ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'REFUNDED');
CREATE TYPE subscription_status   AS ENUM ('ACTIVE', 'PAUSED', 'CANCELLED', 'EXPIRED');
CREATE TYPE subscription_interval AS ENUM ('MONTH', 'YEAR');
CREATE TYPE credit_type           AS ENUM ('PROMOTIONAL', 'REFUND', 'COMPENSATION', 'ADJUSTMENT');
CREATE TYPE billing_alert_type    AS ENUM ('USAGE_THRESHOLD', 'PAYMENT_FAILED', 'INVOICE_OVERDUE', 'SUBSCRIPTION_EXPIRING');

CREATE TABLE user_profiles (
    user_id        uuid PRIMARY KEY REFERENCES users(id),
    name           text NOT NULL,
    email          text NOT NULL,
    address_line1  text NOT NULL,
    address_line2  text,
    postal_code    text NOT NULL,
    city           text NOT NULL,
    country        char(2) NOT NULL,
    phone          text,
    vat_number     text,
    siren          text,
    locale         text NOT NULL,
    currency       char(3) NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
    code                    text PRIMARY KEY,
    name                    text NOT NULL,
    currency                char(3) NOT NULL,
    monthly_fee_minor       bigint NOT NULL CHECK (monthly_fee_minor >= 0),
    yearly_fee_minor        bigint NOT NULL CHECK (yearly_fee_minor >= 0),
    included_requests       bigint NOT NULL CHECK (included_requests >= 0),
    overage_per_1000_minor  bigint NOT NULL CHECK (overage_per_1000_minor >= 0),
    active                  boolean NOT NULL DEFAULT true,
    updated_at              timestamptz NOT NULL DEFAULT now()
);

INSERT INTO plans (code, name, currency, monthly_fee_minor, yearly_fee_minor, included_requests, overage_per_1000_minor) VALUES
    ('FREE',       'Free',       'EUR',     0,      0,     1000,  0),
    ('BASIC',      'Basic',      'EUR',   900,   9000,    10000, 50),
    ('PREMIUM',    'Premium',    'EUR',  4900,  49000,   100000, 30),
    ('ENTERPRISE', 'Enterprise', 'EUR', 49900, 499000,  2000000, 10);

CREATE TABLE subscriptions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users(id),
    plan_code   text NOT NULL REFERENCES plans(code),
    interval    subscription_interval NOT NULL,
    status      subscription_status NOT NULL DEFAULT 'ACTIVE',
    started_on  date NOT NULL,
    ended_on    date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);
-- At most one live subscription per customer: a plan change ends one and starts the next.
CREATE UNIQUE INDEX subscriptions_one_live ON subscriptions (user_id) WHERE status IN ('ACTIVE', 'PAUSED');

CREATE TABLE invoices (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               uuid NOT NULL REFERENCES users(id),
    number                text UNIQUE,
    status                invoice_status NOT NULL DEFAULT 'DRAFT',
    currency              char(3) NOT NULL,
    period_type           text NOT NULL,
    period_start          date NOT NULL,
    period_end            date NOT NULL,
    issue_date            date,
    due_date              date,
    subtotal_minor        bigint NOT NULL,
    tax_rate              numeric(6, 4) NOT NULL,
    tax_minor             bigint NOT NULL,
    total_minor           bigint NOT NULL,
    notes                 text,
    send_requested        boolean NOT NULL DEFAULT false,
    buyer                 jsonb NOT NULL,      -- the customer's identity as printed, frozen at generation
    seller                jsonb NOT NULL,
    locale                text NOT NULL,
    pdf_key               text,               -- chosen when issued, before the upload
    pdf_size              bigint,
    pdf_sha256            text,
    pdf_etag              text,
    document_recorded_at  timestamptz,        -- set once by the S3 event
    emailed_at            timestamptz,
    issued_at             timestamptz,
    paid_at               timestamptz,
    cancelled_at          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start),
    CHECK (total_minor = subtotal_minor + tax_minor),
    CHECK ((status = 'DRAFT') = (number IS NULL) OR status = 'CANCELLED')
);
-- One live invoice per customer and period: what makes a rerun or a duplicate request safe.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (user_id, period_start, period_end) WHERE status <> 'CANCELLED';
CREATE INDEX invoices_user_created ON invoices (user_id, created_at DESC, id DESC);
CREATE INDEX invoices_created ON invoices (created_at DESC, id DESC);

CREATE TABLE invoice_items (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    invoice_id           uuid NOT NULL REFERENCES invoices(id),
    position             integer NOT NULL,
    kind                 text NOT NULL,      -- fee | overage | credit
    description          text NOT NULL,
    quantity             bigint NOT NULL,
    unit_price_minor     bigint NOT NULL,    -- price of base_quantity units
    base_quantity        integer NOT NULL DEFAULT 1 CHECK (base_quantity > 0),
    amount_minor         bigint NOT NULL,
    UNIQUE (invoice_id, position)
);

-- Gapless numbering: one row per (kind, year), incremented under its row lock in the issuing transaction.
CREATE TABLE invoice_number_sequences (
    kind        text NOT NULL,              -- INV | AVO
    year        integer NOT NULL,
    last_value  bigint NOT NULL,
    PRIMARY KEY (kind, year)
);

CREATE TABLE payments (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    invoice_id               uuid NOT NULL REFERENCES invoices(id),
    amount_minor             bigint NOT NULL CHECK (amount_minor > 0),
    currency                 char(3) NOT NULL,
    status                   payment_status NOT NULL DEFAULT 'PENDING',
    provider                 text NOT NULL,
    provider_transaction_id  text NOT NULL,
    received_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_transaction_id)
);

CREATE TABLE credits (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES users(id),
    type              credit_type NOT NULL,
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          char(3) NOT NULL,
    reason            text NOT NULL,
    expires_on        date,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credit_applications (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    credit_id     uuid NOT NULL REFERENCES credits(id),
    invoice_id    uuid NOT NULL REFERENCES invoices(id),
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (credit_id, invoice_id)
);

CREATE TABLE billing_alerts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users(id),
    type         billing_alert_type NOT NULL,
    message      text NOT NULL,
    invoice_id   uuid REFERENCES invoices(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);

-- Hash-chained, append-only: hash = sha256(prev_hash || canonical event).
CREATE TABLE audit_events (
    seq          bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash    bytea,
    hash         bytea NOT NULL
);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE TABLE gdpr_consents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users(id),
    purpose     text NOT NULL,
    granted     boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gdpr_consents_user ON gdpr_consents (user_id, purpose, recorded_at DESC);
