"""Writes sample records into the coordination table the way another tool would (boto3, the
spec's single-table format), so the quickstart has something to show."""
import datetime as dt
import json
import os

import boto3

table = boto3.resource(
    "dynamodb",
    endpoint_url=os.environ["AWS_ENDPOINT"],
    region_name=os.environ.get("AWS_REGION", "us-west-2"),
).Table(os.environ.get("DYNAMODB_TABLE_NAME", "failover-operator"))
op = os.environ.get("OPERATOR_ID", "failover-operator")
now = dt.datetime.now(dt.timezone.utc)


def ts(delta_seconds):
    return (now + dt.timedelta(seconds=delta_seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group(ns, name, owner, previous, version, suspended=False, reason=None):
    pk = f"GROUP#{op}#{ns}#{name}"
    item = {
        "PK": pk, "SK": "CONFIG", "GSI1PK": f"OPERATOR#{op}", "GSI1SK": f"GROUP#{ns}#{name}",
        "operatorID": op, "groupNamespace": ns, "groupName": name,
        "ownerCluster": owner, "previousOwner": previous, "version": version,
        "timeouts": {"transitoryState": "5m", "unhealthyPrimary": "2m", "heartbeat": "1m"},
        "heartbeatInterval": "10s", "lastUpdated": ts(-600), "suspended": suspended,
        "lastFailover": {"name": f"{name}-failover-7", "namespace": ns, "timestamp": ts(-3600)},
    }
    if reason:
        item["suspensionReason"] = reason
    table.put_item(Item=item)
    return pk


def cluster(pk, ns, name, cluster_name, state, health, age, seq, components):
    table.put_item(Item={
        "PK": pk, "SK": f"CLUSTER#{cluster_name}", "GSI1PK": f"CLUSTER#{cluster_name}",
        "GSI1SK": f"GROUP#{ns}#{name}", "operatorID": op, "groupNamespace": ns, "groupName": name,
        "clusterName": cluster_name, "health": health, "state": state,
        "lastHeartbeat": ts(-age), "heartbeatSeq": seq, "components": json.dumps(components),
    })


ok = {"workloads": {"health": "OK", "message": ""}, "volumes": {"health": "OK", "message": ""}}
web = group("shop", "web", "eu-west", "us-east", 7)
cluster(web, "shop", "web", "eu-west", "PRIMARY", "OK", 4, 1042, ok)
cluster(web, "shop", "web", "us-east", "STANDBY", "OK", 6, 1040, ok)
cluster(web, "shop", "web", "ap-south", "STANDBY", "DEGRADED", 95, 311,
        {"workloads": {"health": "DEGRADED", "message": "web: 1/3 ready"}})
for i, (src, dst, status, reason, down, dur) in enumerate([
    ("us-east", "eu-west", "SUCCESS", "region maintenance us-east-1", 12, 41),
    ("eu-west", "us-east", "SUCCESS", "planned drill", 9, 37),
    ("us-east", "eu-west", "ROLLED_BACK", "target volumes did not promote", 0, 300),
]):
    start = ts(-3600 * (i + 1))
    table.put_item(Item={
        "PK": web, "SK": f"HISTORY#{start}", "operatorID": op, "groupNamespace": "shop",
        "groupName": "web", "failoverName": f"web-failover-{7 - i}", "sourceCluster": src,
        "targetCluster": dst, "startTime": start, "endTime": ts(-3600 * (i + 1) + dur),
        "status": status, "reason": reason, "downtime": down, "duration": dur,
    })

checkout = group("shop", "checkout", "us-east", "eu-west", 3, True, "payment provider migration")
cluster(checkout, "shop", "checkout", "us-east", "PRIMARY", "OK", 3, 88, ok)
cluster(checkout, "shop", "checkout", "eu-west", "STANDBY", "OK", 5, 87, ok)
table.put_item(Item={
    "PK": checkout, "SK": "LOCK", "operatorID": op, "groupNamespace": "shop",
    "groupName": "checkout", "lockedBy": "eu-west", "lockReason": "planned failover to eu-west",
    "acquiredAt": ts(-20), "expiresAt": ts(25), "leaseToken": "3f1c2a9e-sample",
})
print("seeded 2 groups (shop/web, shop/checkout), 5 heartbeats, 3 history records, 1 lock")
