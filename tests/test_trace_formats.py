"""Every trace format, read from small files written here after the formats' public
schemas (the generic pod table; Alibaba's openb and DLRM CSVs, alibaba/clusterdata;
SimKube trace v2, acrlabs/simkube docs/ref/trace-files.md; kube-state-metrics series as
the Prometheus HTTP API returns them; Container Insights' KubePodInventory), and what
each says of a malformed row."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgpack
import pytest

from simulator.errors import InputError
from simulator.scenario.traces import detect_format, read
from simulator.scenario.traces import formats as formats_module
from simulator.scenario.traces.podtable import write_table

T0 = 1710892138  # 2024-03-19T23:48:58Z


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _pods(table) -> dict[str, dict]:
    out = {}
    for i, name in enumerate(table.names):
        out[name] = {
            "created": table.created[i],
            "scheduled": table.scheduled[i],
            "deleted": table.deleted[i],
            "cpu": int(table.cpu[i]),
            "memory": int(table.memory[i]),
            "gpu": int(table.gpu[i]),
            "node": table.node[i],
            "pool": table.pool[i],
            "group": table.group[i],
            "host": int(table.host_network[i]),
            "cap": int(table.max_per_node[i]),
        }
    return out


def _has(pod: dict, **expected) -> bool:
    return all(pod[k] == v for k, v in expected.items())


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


POD_CSV = """name,created,deleted,cpu,memory,node,pool,group,host_network
web-1,0,300,250m,256Mi,aks-user-12345678-vmss000000,user,web,false
web-2,0,,0.5,1Gi,aks-user-12345678-vmss000001,,web,
dns-1,10.5,NaN,2,512,,,,true
"""


def test_the_generic_pod_table_in_seconds(tmp_path):
    table = read(_write(tmp_path, "pods.csv", POD_CSV), "pod-csv")
    pods = _pods(table)
    assert list(pods) == ["web-1", "web-2", "dns-1"]
    assert pods["web-1"] == {
        "created": 0.0,
        "scheduled": pods["web-1"]["scheduled"],
        "deleted": 300.0,
        "cpu": 250,
        "memory": 256,
        "gpu": -1,
        "node": "aks-user-12345678-vmss000000",
        "pool": "user",
        "group": "web",
        "host": 0,
        "cap": 0,
    }
    assert math.isnan(pods["web-1"]["scheduled"]) and not table.scheduling_known
    assert math.isnan(pods["web-2"]["deleted"])  # empty: alive at the end
    assert (pods["web-2"]["cpu"], pods["web-2"]["memory"], pods["web-2"]["host"]) == (500, 1024, -1)
    # A bare number is cores and MiB; NaN is as empty as an empty cell.
    assert _has(pods["dns-1"], created=10.5, cpu=2000, memory=512, host=1)
    assert math.isnan(pods["dns-1"]["deleted"])
    assert not table.absolute and list(table.rows) == [1, 2, 3]
    assert table.nodes == ["aks-user-12345678-vmss000000", "aks-user-12345678-vmss000001"]


def test_timestamps_are_unix_seconds_and_columns_and_units_can_be_mapped(tmp_path):
    text = (
        "pod,start,end,milli,bytes\n"
        "a,2024-03-19T23:48:58Z,2024-03-19T23:49:58.5+00:00,100,1073741824\n"
        "b,2024-03-19T23:50:58.1234567Z,,200,536870912\n"
    )
    table = read(
        _write(tmp_path, "t.csv", text),
        "pod-csv",
        columns={
            "name": "pod",
            "created": "start",
            "deleted": "end",
            "cpu": "milli",
            "memory": "bytes",
        },
        units={"cpu": "millicores", "memory": "bytes"},
    )
    pods = _pods(table)
    assert table.absolute
    assert pods["a"]["created"] == T0 and pods["a"]["deleted"] == T0 + 60.5
    assert pods["b"]["created"] == pytest.approx(T0 + 120.123456)  # 7 digits: 6 kept
    assert (pods["a"]["cpu"], pods["a"]["memory"], pods["b"]["memory"]) == (100, 1024, 512)


def test_parquet_and_the_round_trip_of_convert(tmp_path):
    table = read(_write(tmp_path, "pods.csv", POD_CSV), "pod-csv")
    for name, fmt in (("back.parquet", "pod-parquet"), ("back.csv", "pod-csv")):
        write_table(table, tmp_path / name, parquet=fmt == "pod-parquet")
        again = read(tmp_path / name, fmt)
        assert again.names == table.names
        for key in (
            "created",
            "scheduled",
            "deleted",
            "cpu",
            "memory",
            "gpu",
            "host_network",
            "max_per_node",
        ):
            a, b = getattr(table, key), getattr(again, key)
            assert all(_same(float(x), float(y)) for x, y in zip(a, b, strict=True)), key
        assert (again.node, again.pool, again.group) == (table.node, table.pool, table.group)
        assert detect_format(tmp_path / name) == fmt


def test_parquet_timestamps_and_numbers(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime.datetime.fromtimestamp(T0, tz=datetime.timezone.utc)
    pq.write_table(
        pa.table(
            {
                "name": ["a", "b"],
                "created": [start, start],
                "deleted": [start + datetime.timedelta(seconds=90), None],
                "cpu": [0.25, 1.0],
                "memory": [128, 2048],
            }
        ),
        tmp_path / "t.parquet",
    )
    pods = _pods(read(tmp_path / "t.parquet", "pod-parquet"))
    assert pods["a"]["created"] == T0 and pods["a"]["deleted"] == T0 + 90
    assert math.isnan(pods["b"]["deleted"]) and pods["b"]["cpu"] == 1000


OPENB = (
    (
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
        "deletion_time,scheduled_time\n"
    )
    + """openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
openb-pod-0009,4000,15258,0,0,,BE,Pending,3000000,3000500,
openb-pod-0010,88000,327680,8,1000,V100M16|V100M32,Burstable,Succeeded,9437497,10769854,9437497
"""
)


def test_alibaba_openb(tmp_path):
    file = _write(tmp_path, "openb_pod_list_default.csv", OPENB)
    assert detect_format(file) == "alibaba-openb"
    table = read(file, "alibaba-openb")
    pods = _pods(table)
    assert table.scheduling_known
    assert _has(pods["openb-pod-0000"], cpu=12000, memory=16384, gpu=1, deleted=12537496.0)
    assert math.isnan(pods["openb-pod-0009"]["scheduled"])  # Pending: never scheduled
    assert pods["openb-pod-0010"]["gpu"] == 8


DLRM = (
    (
        "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,"
        "rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,"
        "creation_time,scheduled_time,deletion_time\n"
    )
    + """instance_0,HN,app_0,12,12,1,1,25,25,120.0,120.0,640.0,800.0,8,,,
instance_13574,CN,app_130,64,64,0,0,1,1,320.0,320.0,255.0,300.0,-1,1435629.0,1435629.0,1435760.0
instance_20000,HN,app_78,8,8,1,1,25,25,32.0,32.0,170.0,200.0,4,2049297.0000000002,2049297.0000000002,2051896.0000000002
instance_20001,HN,app_78,8,8,1,1,25,25,32.0,32.0,170.0,200.0,4,2050000.0,2050003.0,
"""
)


def test_alibaba_dlrm(tmp_path):
    file = _write(tmp_path, "disaggregated_DLRM_trace.csv", DLRM)
    assert detect_format(file) == "alibaba-dlrm"
    pods = _pods(read(file, "alibaba-dlrm"))
    first = pods["instance_0"]
    assert math.isnan(first["created"]) and math.isnan(first["deleted"])  # before and after
    assert _has(first, cpu=12000, memory=120 * 1024, gpu=1, cap=8, group="app_0/HN")
    assert pods["instance_13574"]["cap"] == 0  # -1: no cap
    assert pods["instance_20000"]["created"] == 2049297.0  # float noise rounded
    assert pods["instance_20001"]["scheduled"] == 2050003.0


def _simkube_doc() -> dict:
    def deployment(replicas: int, name: str = "web") -> dict:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": "dsb",
                "labels": {"app": name},
                "annotations": {},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"creationTimestamp": None, "labels": {"app": name}},
                    "spec": {
                        "nodeSelector": {"kubernetes.azure.com/agentpool": "user"},
                        "containers": [
                            {
                                "name": name,
                                "image": "nginx",
                                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                            },
                            {
                                "name": "side",
                                "image": "envoy",
                                "resources": {"requests": {"cpu": "0.25", "memory": "268435456"}},
                            },
                        ],
                    },
                },
            },
            "status": {},
        }

    return {
        "version": 2,
        "config": {
            "trackedObjects": {"apps/v1.Deployment": {"podSpecTemplatePaths": ["/spec/template"]}}
        },
        "events": [
            {"ts": T0, "applied_objs": [], "deleted_objs": []},
            {"ts": T0, "applied_objs": [deployment(1), deployment(2, "db")], "deleted_objs": []},
            # Applied three times at one instant: the last copy (3 replicas) wins.
            {
                "ts": T0 + 423,
                "applied_objs": [deployment(5), deployment(1), deployment(3)],
                "deleted_objs": [],
            },
            {"ts": T0 + 600, "applied_objs": [deployment(2)], "deleted_objs": []},
            {
                "ts": T0 + 900,
                "applied_objs": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "cfg", "namespace": "dsb"},
                    }
                ],
                "deleted_objs": [deployment(2, "db")],
            },
        ],
        "index": {"apps/v1.Deployment": {"dsb/web": 17146943970771433564, "dsb/db": 1}},
        "pod_lifecycles": {},
    }


def test_simkube_json_replays_replica_changes(tmp_path):
    file = _write(tmp_path, "trace.json", json.dumps(_simkube_doc()))
    assert detect_format(file) == "simkube"
    table = read(file, "simkube")
    pods = _pods(table)
    assert table.absolute and (table.start, table.end) == (T0, T0 + 900)
    assert sorted(pods) == [
        "dsb/db-00001",
        "dsb/db-00002",
        "dsb/web-00001",
        "dsb/web-00002",
        "dsb/web-00003",
    ]
    web = {n: (p["created"] - T0, p["deleted"] - T0) for n, p in pods.items() if "web" in n}
    # 1 -> 3 at +423 s; 3 -> 2 at +600 s deletes the newest.
    assert web["dsb/web-00001"][0] == 0 and math.isnan(web["dsb/web-00001"][1])
    assert web["dsb/web-00003"] == (423, 600)
    assert {pods[n]["deleted"] - T0 for n in ("dsb/db-00001", "dsb/db-00002")} == {900}
    one = pods["dsb/web-00001"]
    assert (one["cpu"], one["memory"], one["pool"], one["group"]) == (750, 1280, "user", "dsb/web")
    assert table.dropped == {"object of kind ConfigMap: not replayed": 1}


def test_simkube_msgpack_with_pod_lifecycles(tmp_path):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bare-pod-1", "namespace": "testing"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {
            "parallelism": 1,
            "completions": 2,
            "template": {"spec": {"containers": [{"name": "c", "resources": {}}]}},
        },
    }
    doc = {
        "version": 2,
        "config": {
            "trackedObjects": {
                "v1.Pod": {"trackLifecycle": True, "skipOwned": True},
                "batch/v1.Job": {"podSpecTemplatePaths": ["/spec/template"]},
            }
        },
        "events": [
            {"ts": T0, "applied_objs": [pod, job], "deleted_objs": []},
            {"ts": T0 + 100, "applied_objs": [], "deleted_objs": []},
        ],
        "index": {},
        # msgpack map keys: [gvk, "ns/name"] pairs and uint64 hashes.
        "pod_lifecycles": {
            ("v1.Pod", "testing/bare-pod-1"): {
                2151974655102796215: [{"Finished": [T0 + 1, T0 + 31]}]
            },
            ("batch/v1.Job", "default/hello"): {
                10855072724872030168: [{"Finished": [T0 + 2, T0 + 12]}]
            },
        },
    }
    file = tmp_path / "trace.sktrace"
    file.write_bytes(msgpack.packb(doc))
    pods = _pods(read(file, "simkube"))
    bare = pods["testing/bare-pod-1"]
    assert (bare["scheduled"] - T0, bare["deleted"] - T0, bare["cpu"]) == (1, 31, 1000)
    # Completions 2, one at a time, 10 s each: the second starts when the first ends.
    first, second = pods["default/hello-00001"], pods["default/hello-00002"]
    assert (first["created"] - T0, first["deleted"] - T0) == (0, 10)
    assert (second["created"] - T0, second["deleted"] - T0) == (10, 20)
    assert first["cpu"] == -1  # no requests in the template: the workload's keys fill in


def _series(name: str, labels: dict, values: list) -> dict:
    return {"metric": {"__name__": name, "job": "kube-state-metrics", **labels}, "values": values}


def _ksm_doc() -> list:
    web = {"namespace": "default", "pod": "web-7d4b9c-abcde", "uid": "0b6c-1"}
    old = {"namespace": "default", "pod": "job-x", "uid": "0b6c-2"}
    node = "aks-nodepool1-12345678-vmss000000"
    matrix = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                _series(
                    "kube_pod_created",
                    web,
                    [[T0 + 2, str(T0)], [T0 + 32, str(T0)], [T0 + 62, str(T0)]],
                ),
                _series(
                    "kube_pod_info",
                    web
                    | {
                        "node": node,
                        "host_network": "false",
                        "pod_ip": "10.244.1.17",
                        "created_by_kind": "ReplicaSet",
                        "created_by_name": "web-7d4b9c",
                    },
                    [[T0 + 2, "1"], [T0 + 62, "1"]],
                ),
                _series("kube_pod_status_scheduled_time", web, [[T0 + 2, str(T0 + 1)]]),
                _series(
                    "kube_pod_container_resource_requests",
                    web | {"container": "web", "resource": "cpu", "unit": "core", "node": node},
                    [[T0 + 2, "0.25"]],
                ),
                _series(
                    "kube_pod_container_resource_requests",
                    web | {"container": "side", "resource": "cpu", "unit": "core", "node": node},
                    [[T0 + 2, "0.1"]],
                ),
                _series(
                    "kube_pod_container_resource_requests",
                    web | {"container": "web", "resource": "memory", "unit": "byte", "node": node},
                    [[T0 + 2, "268435456"]],
                ),
                _series(
                    "kube_pod_created", old, [[T0 + 2, str(T0 - 100)], [T0 + 32, str(T0 - 100)]]
                ),
                _series("kube_pod_start_time", old, [[T0 + 2, str(T0 - 99)]]),
                _series(
                    "kube_node_labels",
                    {"node": node, "label_kubernetes_azure_com_agentpool": "nodepool1"},
                    [[T0 + 2, "1"]],
                ),
            ],
        },
    }
    vector = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {
                    "metric": {"__name__": "kube_pod_deletion_timestamp", **old},
                    "value": [T0 + 32, str(T0 + 30)],
                },
            ],
        },
    }
    return [matrix, vector]


def test_kube_state_metrics_from_the_prometheus_api(tmp_path):
    file = _write(tmp_path, "ksm.json", json.dumps(_ksm_doc()))
    assert detect_format(file) == "kube-state-metrics"
    pods = _pods(read(file, "kube-state-metrics"))
    web, old = pods["default/web-7d4b9c-abcde"], pods["default/job-x"]
    assert _has(
        web,
        created=T0,
        scheduled=T0 + 1,
        cpu=350,
        memory=256,
        pool="nodepool1",
        node="aks-nodepool1-12345678-vmss000000",
        group="web-7d4b9c",
        host=0,
    )
    assert math.isnan(web["deleted"])  # seen at the last scrape: alive
    assert (old["created"], old["scheduled"], old["deleted"]) == (T0 - 100, T0 - 99, T0 + 30)


def test_kube_state_metrics_long_csv(tmp_path):
    node = "aks-nodepool1-12345678-vmss000000"
    text = (
        "timestamp,metric,namespace,pod,uid,node,labels,value\n"
        f'{T0},kube_pod_created,default,web-1,u1,,"{{}}",{T0 - 5}\n'
        f"{T0},kube_pod_info,default,web-1,u1,{node},"
        '"{""host_network"":""true"",""created_by_name"":""web""}",1\n'
        f"{T0 + 30},kube_pod_created,default,web-1,u1,,,{T0 - 5}\n"
        f"{T0},kube_pod_created,default,gone,u2,,,{T0 - 50}\n"
        f"{T0 + 60},kube_pod_created,default,web-1,u1,,,{T0 - 5}\n"
    )
    file = _write(tmp_path, "ksm.csv", text)
    assert detect_format(file) == "kube-state-metrics"
    pods = _pods(read(file, "kube-state-metrics"))
    assert pods["default/web-1"]["host"] == 1 and pods["default/web-1"]["node"] == node
    assert math.isnan(pods["default/web-1"]["deleted"])
    # Last seen at T0, before the export's last sample: gone by the next scrape.
    assert pods["default/gone"]["deleted"] == T0


KPI = (
    "TimeGenerated [UTC],Computer,ClusterName,Namespace,Name,PodUid,PodCreationTimeStamp [UTC],"
    "PodStartTime [UTC],PodStatus,PodIp,ControllerKind,ControllerName,ContainerName,"
    "ContainerStatus,ContainerStatusReason,PodLabel\n"
    "2024-03-19T23:49:00Z,aks-nodepool1-12345678-vmss000000,aks1,dsb,web-1,u1,2024-03-19T23:48:58Z,"
    '2024-03-19T23:48:59Z,Running,10.244.1.17,ReplicaSet,web-7d4b9c,u1/web,running,,"[{""app"":""web""}]"\n'
    "2024-03-19T23:49:00Z,,aks1,dsb,web-2,u2,2024-03-19T23:48:59Z,,Pending,,ReplicaSet,web-7d4b9c,,,,"
    '"[{""app"":""web""}]"\n'
    '"3/19/2024, 11:50:00.000 PM",aks-nodepool1-12345678-vmss000000,aks1,dsb,web-1,u1,'
    '"3/19/2024, 11:48:58.000 PM","3/19/2024, 11:48:59.000 PM",Terminating,10.244.1.17,'
    'ReplicaSet,web-7d4b9c,u1/web,running,,"[{""app"":""web""}]"\n'
    "2024-03-19T23:51:00Z,,aks1,dsb,web-2,u2,2024-03-19T23:48:59Z,,Pending,,ReplicaSet,web-7d4b9c,,,,"
    '"[{""app"":""web""}]"\n'
)


def test_kube_pod_inventory_csv_and_query_json(tmp_path):
    file = _write(tmp_path, "kpi.csv", KPI)
    assert detect_format(file) == "kube-pod-inventory"
    pods = _pods(read(file, "kube-pod-inventory"))
    one, two = pods["dsb/web-1"], pods["dsb/web-2"]
    assert (one["created"], one["scheduled"], one["deleted"]) == (T0, T0 + 1, T0 + 62)
    assert one["node"] == "aks-nodepool1-12345678-vmss000000" and one["group"] == "web-7d4b9c"
    assert math.isnan(two["scheduled"]) and math.isnan(two["deleted"])  # pending to the end
    columns = [
        "TimeGenerated",
        "Computer",
        "Namespace",
        "Name",
        "PodUid",
        "PodCreationTimeStamp",
        "PodStartTime",
        "PodStatus",
    ]
    rows = [
        [
            "2024-03-19T23:49:00Z",
            "n1",
            "dsb",
            "a",
            "u1",
            "2024-03-19T23:48:58Z",
            "2024-03-19T23:48:59Z",
            "Running",
        ],
        [
            "2024-03-19T23:50:00.0000000Z",
            "",
            "dsb",
            "b",
            "u2",
            "2024-03-19T23:48:58Z",
            "",
            "Pending",
        ],
    ]
    doc = {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": c, "type": "string"} for c in columns],
                "rows": rows,
            }
        ]
    }
    file = _write(tmp_path, "kpi.json", json.dumps(doc))
    assert detect_format(file) == "kube-pod-inventory"
    pods = _pods(read(file, "kube-pod-inventory"))
    assert pods["dsb/a"]["deleted"] == T0 + 2  # last seen before the export's end
    assert math.isnan(pods["dsb/b"]["deleted"])


# --- bad input: one line naming the file, the row and the column -----------------------

BAD = [
    (
        "name,created\na,yesterday\n",
        "t.csv: row 1 (line 2), column 'created': not a time: "
        "seconds or an ISO 8601 timestamp (got 'yesterday')",
    ),
    (
        "name,created,deleted\na,10,5\n",
        "t.csv: row 1 (line 2), column 'deleted': deleted before it was created (10) (got 5.0)",
    ),
    (
        "name,created,cpu\na,0,-1\n",
        "t.csv: row 1 (line 2), column 'cpu': must not be negative (got '-1')",
    ),
    (
        "name,created\na,0\nb,1\na,2\n",
        "t.csv: row 3 (line 4), column 'name': pod name given twice (first at row 1) (got 'a')",
    ),
    (
        "name,created,memory\na,0,lots\n",
        "t.csv: row 1 (line 2), column 'memory': not memory such as 512Mi or a number (got 'lots')",
    ),
    ("name,created\na,0,1\n", "t.csv: row 1 (line 2): has 3 cells but the header has 2"),
    (
        "pod,created\na,0\n",
        "t.csv: header: no column 'name' for the pods' name (columns: pod, "
        "created); map it with source.columns.name",
    ),
    (
        "name,created\na,2024-01-01T00:00:00Z\nb,5\n",
        "t.csv: row 2 (line 3), column 'created': "
        "mixes timestamps and seconds; give one or the other (got '5')",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_malformed_row_is_named_by_file_row_and_column(tmp_path, text, message):
    with pytest.raises(InputError) as err:
        read(_write(tmp_path, "t.csv", text), "pod-csv")
    assert str(err.value) == message


def test_a_mapped_column_that_is_not_there(tmp_path):
    with pytest.raises(
        InputError, match=r"t.csv: header: no column 'cpu_m' \(source.columns.cpu\)"
    ):
        read(_write(tmp_path, "t.csv", "name,created\na,0\n"), "pod-csv", columns={"cpu": "cpu_m"})


def test_dropped_rows_are_counted_with_their_reason(tmp_path):
    text = "name,created,deleted,cpu\na,0,,1\nb,x,,1\nc,5,1,1\nd,0,,-2\ne,1,,1\na,3,,1\n"
    table = read(_write(tmp_path, "t.csv", text), "pod-csv", drop_bad=True)
    assert table.names == ["a", "e"]
    assert dict(table.dropped) == {
        "bad row: created: not a time: seconds or an ISO 8601 timestamp": 1,
        "bad row: deleted: deleted before it was created (5)": 1,
        "bad row: cpu: must not be negative": 1,
        "bad row: name: pod name given twice (first at row 1)": 1,
    }


def test_a_file_beyond_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(formats_module, "MAX_TRACE_BYTES", 10)
    with pytest.raises(InputError, match=r"t.csv: is 19 bytes; trace files are limited to 10"):
        read(_write(tmp_path, "t.csv", "name,created\na,0,1\n"), "pod-csv")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"version": 2},
            "t.json: config: is required: a SimKube trace v2 has version, config, "
            "events, index and pod_lifecycles",
        ),
        (
            {"version": 1, "config": {}, "events": [], "index": {}, "pod_lifecycles": {}},
            "t.json: version: unsupported trace version; ipsim reads version 2 (got 1)",
        ),
        (
            {
                "version": 2,
                "config": {},
                "events": [{"applied_objs": []}],
                "index": {},
                "pod_lifecycles": {},
            },
            "t.json: events[0].ts: needs ts, Unix seconds (got None)",
        ),
    ],
)
def test_simkube_refusals(tmp_path, doc, message):
    with pytest.raises(InputError) as err:
        read(_write(tmp_path, "t.json", json.dumps(doc)), "simkube")
    assert str(err.value) == message


def test_a_portal_export_in_local_time_is_refused(tmp_path):
    text = KPI.replace("TimeGenerated [UTC]", "TimeGenerated [Local Time]", 1)
    with pytest.raises(InputError, match=r"kpi.csv: header: gives its times in local time"):
        read(_write(tmp_path, "kpi.csv", text), "kube-pod-inventory")


def test_exports_that_are_not_the_named_format(tmp_path):
    with pytest.raises(InputError, match=r"t.json: data: is not a Prometheus API response"):
        read(_write(tmp_path, "t.json", json.dumps({"status": "success"})), "kube-state-metrics")
    with pytest.raises(InputError, match=r"t.csv: header: no column 'TimeGenerated'"):
        read(_write(tmp_path, "t.csv", "Name,PodStatus\na,Running\n"), "kube-pod-inventory")
    with pytest.raises(InputError, match=r"t.bin: is neither JSON nor msgpack"):
        (tmp_path / "t.bin").write_bytes(b"\xc1\xc1\xc1")
        read(tmp_path / "t.bin", "simkube")
