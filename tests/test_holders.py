"""Who holds each subnet's addresses: holders.csv, the summary's holders, holders.png."""

import pandas as pd

import simulator


def _shared():
    """Two clusters share one node subnet and one pod subnet; cluster a's second pool
    takes its pod addresses from a subnet of its own.

    Max pods 30, batch 16: a node with 10 to 30 pods asks for 32, capped at 30, so it
    holds 30 + 1 pod-subnet addresses; every node holds 1 node-subnet address.
    """
    return {
        "name": "holders",
        "duration": "20m",
        "sample_every": "10s",
        "network": {
            "vnets": [
                {
                    "name": "vnet1",
                    "address_space": ["10.0.0.0/8"],
                    "subnets": [
                        {"name": "nodes", "cidr": "10.240.0.0/24"},
                        {"name": "pods", "cidr": "10.241.0.0/24"},
                        {"name": "pods2", "cidr": "10.242.0.0/24"},
                    ],
                }
            ]
        },
        "clusters": [
            {
                "name": "a",
                "pod_subnet": "pods",
                "node_pools": [
                    {"name": "user", "count": 2, "max_pods": 30, "node_subnet": "nodes"},
                    {
                        "name": "batch",
                        "count": 1,
                        "max_pods": 30,
                        "node_subnet": "nodes",
                        "pod_subnet": "pods2",
                    },
                ],
            },
            {
                "name": "b",
                "pod_subnet": "pods",
                "node_pools": [
                    {"name": "user", "count": 3, "max_pods": 30, "node_subnet": "nodes"}
                ],
            },
        ],
        "workloads": [
            {"name": "web", "cluster": "a", "node_pool": "user", "replicas": 20},
            {"name": "jobs", "cluster": "a", "node_pool": "batch", "replicas": 25},
            {"name": "api", "cluster": "b", "replicas": 30},
        ],
        # b grows to 20 pods a node, then loses a node: its 60 pods fill the other two.
        "timeline": [
            {"at": "5m", "scale_workload": {"workload": "api", "replicas": 60}},
            {"at": "10m", "scale_node_pool": {"cluster": "b", "node_pool": "user", "count": 2}},
        ],
    }


def test_holders_add_up_to_each_subnets_allocated_at_every_sample():
    result = simulator.run(_shared())
    holders = result.holders
    assert list(holders.columns) == [
        "time_s",
        "subnet",
        "cluster",
        "node_pool",
        "allocated",
        "space",
        "blocks",
    ]
    summed = holders.groupby(["subnet", "time_s"])["allocated"].sum()
    allocated = result.subnets.set_index(["subnet", "time_s"])["allocated"]
    pd.testing.assert_series_equal(summed.sort_index(), allocated.sort_index(), check_names=False)
    # 3 subnets × 121 samples (0, 10, ..., 1200 s).
    assert len(allocated) == 3 * 121
    pairs = holders[["subnet", "cluster", "node_pool"]].drop_duplicates().values.tolist()
    assert pairs == [
        ["nodes", "a", "batch"],
        ["nodes", "a", "user"],
        ["nodes", "b", "user"],
        ["pods", "a", "user"],
        ["pods", "b", "user"],
        ["pods2", "a", "batch"],
    ]


def test_holders_follow_each_pool_over_time():
    result = simulator.run(_shared())
    at = result.holders.set_index(["time_s", "subnet", "cluster", "node_pool"])["allocated"]
    # Before b's scale-down: 3 nodes of 31; once its third node is deleted at 600 s, 2.
    assert at[(590.0, "pods", "b", "user")] == 93
    assert at[(600.0, "pods", "b", "user")] == 62
    assert at[(600.0, "nodes", "b", "user")] == 2
    # a's pools are untouched: 2 × 31 in the shared subnet, 25 pods + 5 spare + 1 in pods2.
    assert at[(1200.0, "pods", "a", "user")] == 62
    assert at[(1200.0, "pods2", "a", "batch")] == 31
    assert at[(1200.0, "nodes", "a", "batch")] == 1


def test_summary_holders_are_peaks_per_cluster_and_pool():
    subnets = simulator.run(_shared()).summary["subnets"]
    assert subnets["nodes"]["holders"] == {"a/batch": 1, "a/user": 2, "b/user": 3}
    assert subnets["pods"]["holders"] == {"a/user": 62, "b/user": 93}
    assert subnets["pods2"]["holders"] == {"a/batch": 31}
    # The subnet's peak is the sum of the holders' peaks here: they peak together.
    assert subnets["pods"]["peak_allocated"] == 62 + 93
    assert subnets["pods"]["final_allocated"] == 62 + 62


def test_traditional_nodes_hold_only_node_subnet_addresses():
    doc = {
        **_shared(),
        "clusters": [
            {
                "name": "a",
                "cni": "traditional",
                "node_pools": [
                    {"name": "user", "count": 2, "max_pods": 30, "node_subnet": "nodes"}
                ],
            }
        ],
        "workloads": [{"name": "web", "cluster": "a", "replicas": 20}],
        "timeline": [],
    }
    result = simulator.run(doc)
    assert result.summary["subnets"]["nodes"]["holders"] == {"a/user": 2 * 31}
    assert set(result.holders["subnet"]) == {"nodes"}
    assert (result.holders["allocated"] == 62).all()


def test_save_writes_holders_csv_and_png(tmp_path):
    result = simulator.run(_shared())
    folder = result.save(tmp_path / "out")
    saved = pd.read_csv(folder / "holders.csv")
    pd.testing.assert_frame_equal(saved, result.holders, check_dtype=False)
    png = (folder / "holders.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
