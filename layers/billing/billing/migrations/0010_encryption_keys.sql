-- Envelope encryption: one data key per version, stored wrapped by the master key (KMS, or the local key file).
CREATE TABLE encryption_keys (
    version      integer PRIMARY KEY,
    wrapped_key  bytea NOT NULL,
    provider     text NOT NULL,          -- kms:<key id> | local
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Keyed hashes (blind indexes) of the name's words and the e-mail's parts: staff can still find a customer by a
-- whole word or a whole e-mail once both are encrypted, and the table reads as nothing.
ALTER TABLE user_profiles ADD COLUMN search_tokens text[] NOT NULL DEFAULT '{}';
CREATE INDEX user_profiles_search_tokens ON user_profiles USING gin (search_tokens);
