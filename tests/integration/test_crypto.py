"""Envelope encryption on the real PostgreSQL, with the local key file and with moto's KMS."""
from __future__ import annotations

import pytest

import billing.ports.crypto as crypto
import billing.ports.keys as keys
from billing.ports.db import database


@pytest.fixture(params=["local", "kms"])
def provider(request, infra, tmp_path, monkeypatch):
    """Each provider with its own key versions: the table is emptied, caches dropped, then restored."""
    if request.param == "kms":
        import boto3

        kms = boto3.client("kms", region_name="eu-west-3", endpoint_url=infra.s3_endpoint_url)
        key_id = kms.create_key(Description="billing test")["KeyMetadata"]["KeyId"]
        chosen = keys.Kms(key_id, infra.s3_endpoint_url, "eu-west-3")
    else:
        chosen = keys.LocalKeyFile(tmp_path / "master.key")
    with database().transaction() as tx:
        saved = tx.all("SELECT * FROM encryption_keys")
        tx.execute("DELETE FROM encryption_keys")
    monkeypatch.setattr(keys, "_provider", chosen)
    crypto._data_keys.clear()
    yield chosen
    crypto._data_keys.clear()
    with database().transaction() as tx:
        tx.execute("DELETE FROM encryption_keys")
        for row in saved:
            tx.execute("INSERT INTO encryption_keys (version, wrapped_key, provider, created_at)"
                       " VALUES (:version, :wrapped_key, :provider, :created_at)", **row)


def test_round_trip_names_the_key_version_and_binds_the_row(provider):
    with database().transaction() as tx:
        token = crypto.encrypt(tx, "Jean Dupont", "user_profiles", "name", "row-1")
        assert token.startswith("enc:v1:") and "Jean" not in token
        assert crypto.decrypt(tx, token, "user_profiles", "name", "row-1") == "Jean Dupont"
        with pytest.raises(crypto.Undecryptable):
            crypto.decrypt(tx, token, "user_profiles", "name", "row-2")  # copied to another row
        with pytest.raises(crypto.Undecryptable):
            crypto.decrypt(tx, token, "user_profiles", "email", "row-1")  # or another column


def test_old_versions_still_decrypt_after_a_new_one_and_survive_a_cold_start(provider):
    with database().transaction() as tx:
        old = crypto.encrypt(tx, "v1 value", "t", "c", "r")
        assert crypto.create_version(tx) == 2
        new = crypto.encrypt(tx, "v2 value", "t", "c", "r")
    assert (crypto.version_of(old), crypto.version_of(new)) == (1, 2)
    crypto._data_keys.clear()  # a new container: data keys come back from the wrapped copies
    with database().transaction() as tx:
        assert crypto.decrypt(tx, old, "t", "c", "r") == "v1 value"
        assert crypto.decrypt(tx, new, "t", "c", "r") == "v2 value"
        wrapped = tx.value("SELECT wrapped_key FROM encryption_keys WHERE version = 1")
    assert len(wrapped) > 32  # stored wrapped, never as the 32-byte key itself


def test_rotation_reencrypts_every_row_resumably_and_retires_unused_versions(make_customer):
    from datetime import datetime, timedelta, timezone

    from billing.ports.db import customers
    from billing.services.security.rotate import rotate_keys

    user = make_customer(100)
    with database().transaction() as tx:
        # A row from before encryption existed: plaintext, to be encrypted by the rotation.
        tx.execute("UPDATE user_profiles SET city = 'Lyon' WHERE user_id = CAST(:u AS uuid)", u=user)
    now = datetime.now(timezone.utc)
    first = rotate_keys(now)
    later = rotate_keys(now + timedelta(days=31), batch=1)  # one row a batch: resumable steps
    assert later["created"] and later["version"] == first["version"] + 1
    assert later["resealed"]["profiles"] >= 1
    with database().transaction() as tx:
        raw = tx.one("SELECT name, city FROM user_profiles WHERE user_id = CAST(:u AS uuid)", u=user)
        assert all(v.startswith(f"enc:v{later['version']}:") for v in raw.values())
        assert customers.get_profile(tx, user)["city"] == "Lyon"
        assert tx.value("SELECT count(*) FROM encryption_keys WHERE version > 0") == 1  # the old one retired
    assert rotate_keys(datetime.now(timezone.utc) + timedelta(days=29))["created"] is False  # due again after 30 days


def test_personal_fields_are_stored_encrypted(make_customer, db):
    user = make_customer(100, name="Secret Name SARL", email="secret@name.example")
    with db.transaction() as tx:
        raw = tx.one("SELECT name, email, address_line1 FROM user_profiles WHERE user_id = CAST(:u AS uuid)", u=user)
    assert all(v.startswith("enc:v") for v in raw.values()) and "Secret" not in str(raw)


def test_processes_creating_the_local_master_key_at_once_all_get_the_same_one(tmp_path):
    import subprocess
    import sys

    from tests.support import ROOT

    path = tmp_path / "keys" / "master.key"
    code = ("import sys; from pathlib import Path; from billing.ports import keys; "
            "sys.stdout.write(keys.LocalKeyFile(Path(sys.argv[1]))._master().hex())")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE)
             for _ in range(6)]
    seen = {proc.communicate(timeout=60)[0].decode() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert seen == {path.read_bytes().hex()} and len(path.read_bytes()) == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]
