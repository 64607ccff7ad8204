"""`billing stack --gateway-processes N`: several processes serve one port, and none outlives the stack."""
from __future__ import annotations

import http.client
import signal

from tests.e2e.conftest import local_stack
from tests.support import process_running, processes_gone


def _serving_pids(info: dict, connections: int = 8) -> tuple[set[int], list[int]]:
    """Opens `connections` keep-alive connections at once and lists the caller's invoices twice on each; the
    gateway processes that answered (their pid is in the Server header) and the statuses."""
    cons = [http.client.HTTPConnection("127.0.0.1", info["ports"]["gateway"], timeout=60) for _ in range(connections)]
    pids, statuses = set(), []
    try:
        for _ in range(2):
            for con in cons:
                con.request("GET", "/billing/invoices", headers={"Authorization": f"Bearer {info['customerToken']}"})
                reply = con.getresponse()
                reply.read()
                statuses.append(reply.status)
                pids.add(int(reply.getheader("Server").rsplit("pid ", 1)[1].rstrip(")")))
    finally:
        for con in cons:
            con.close()
    return pids, statuses


def test_two_gateway_processes_both_serve_and_stop_with_the_stack(infra, tmp_path):
    with local_stack(infra, tmp_path, "billing_e2e_gateways", "--gateway-processes", "2", "--no-seed") as info:
        gateways = info["gatewayPids"]
        assert len(gateways) == 2 and info["pid"] not in gateways
        assert all(process_running(pid) for pid in gateways)
        pids, statuses = _serving_pids(info)
        assert statuses == [200] * len(statuses)  # each process verifies the stack's tokens
        assert pids == set(gateways)
        children = gateways + info["workerPids"]
    assert info["process"].returncode == 0
    assert processes_gone(children), [pid for pid in children if process_running(pid)]


def test_gateway_processes_exit_when_the_stack_is_killed(infra, tmp_path):
    """SIGKILL gives the stack no chance to stop its children: they notice it is gone and exit."""
    with local_stack(infra, tmp_path, "billing_e2e_gateways_killed", "--gateway-processes", "2", "--no-seed") as info:
        children = info["gatewayPids"] + info["workerPids"]
        info["process"].send_signal(signal.SIGKILL)
        info["process"].wait()
        assert processes_gone(children, timeout=60), [pid for pid in children if process_running(pid)]


def test_one_process_mode_serves_from_the_stack_process(infra, tmp_path):
    with local_stack(infra, tmp_path, "billing_e2e_gateway_inline", "--gateway-processes", "0", "--no-seed") as info:
        assert info["gatewayPids"] == []
        pids, statuses = _serving_pids(info, connections=2)
        assert statuses == [200] * 4
        assert pids == {info["pid"]}
