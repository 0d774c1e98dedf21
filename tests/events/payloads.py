"""Real-shaped EventBridge, Cloud Logging and Activity Log payloads (as the services write them)."""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "123456789012"


def spot_warning(
    event_id: str, instance: str, when: str, *, region: str = "us-east-1", action: str = "terminate"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "EC2 Spot Instance Interruption Warning",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": when,
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"],
        "detail": {"instance-id": instance, "instance-action": action},
    }


def rebalance(
    event_id: str, instance: str, when: str, *, region: str = "us-east-1"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "EC2 Instance Rebalance Recommendation",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": when,
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"],
        "detail": {"instance-id": instance},
    }


def state_change(
    event_id: str, instance: str, when: str, state: str, *, region: str = "us-east-1"
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": ACCOUNT,
        "time": when,
        "region": region,
        "resources": [f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"],
        "detail": {"instance-id": instance, "state": state},
    }


def sns_wrapped(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "5a1f9e36-0000-4000-8000-000000000001",
        "TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:ec2-events",
        "Message": json.dumps(event),
        "Timestamp": event["time"],
        "SignatureVersion": "1",
    }


def gcp_preempted(
    insert_id: str, project: str, zone: str, name: str, instance_id: str, when: str
) -> dict[str, Any]:
    """A ``compute.instances.preempted`` system-event audit entry, as entries:list returns it."""
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {"message": "Instance was preempted."},
            "authenticationInfo": {"principalEmail": "system@google.com"},
            "serviceName": "compute.googleapis.com",
            "methodName": "compute.instances.preempted",
            "resourceName": f"projects/{project}/zones/{zone}/instances/{name}",
            "request": {"@type": "type.googleapis.com/compute.instances.preempted"},
        },
        "insertId": insert_id,
        "resource": {
            "type": "gce_instance",
            "labels": {"instance_id": instance_id, "project_id": project, "zone": zone},
        },
        "timestamp": when,
        "severity": "INFO",
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Fsystem_event",
        "operation": {
            "id": f"systemevent-{insert_id}",
            "producer": "compute.instances.preempted",
            "first": True,
            "last": True,
        },
        "receiveTimestamp": when,
    }


def azure_eviction(
    subscription: str, vm_resource_id: str, operation_id: str, when: str, status: str = "Succeeded"
) -> dict[str, Any]:
    """An Activity Log ``EventData`` of a spot eviction (api-version 2015-04-01)."""
    return {
        "authorization": {
            "action": "Microsoft.Compute/virtualMachineScaleSets/evictSpotVM/action",
            "scope": vm_resource_id,
        },
        "caller": "Microsoft.Compute",
        "channels": "Operation",
        "claims": {},
        "correlationId": operation_id,
        "description": "",
        "eventDataId": f"{operation_id}-{status}",
        "eventName": {"value": "EndRequest", "localizedValue": "End request"},
        "category": {"value": "Administrative", "localizedValue": "Administrative"},
        "id": f"{vm_resource_id}/events/{operation_id}-{status}/ticks/638000000000000000",
        "level": "Informational",
        "resourceGroupName": vm_resource_id.split("/")[4],
        "resourceProviderName": {
            "value": "Microsoft.Compute",
            "localizedValue": "Microsoft.Compute",
        },
        "resourceId": vm_resource_id,
        "resourceType": {
            "value": "Microsoft.Compute/virtualMachineScaleSets",
            "localizedValue": "Microsoft.Compute/virtualMachineScaleSets",
        },
        "operationId": operation_id,
        "operationName": {
            "value": "Microsoft.Compute/virtualMachineScaleSets/evictSpotVM/action",
            "localizedValue": "Evict Spot VM",
        },
        "properties": {"eventCategory": "Administrative", "entity": vm_resource_id},
        "status": {"value": status, "localizedValue": status},
        "subStatus": {"value": "", "localizedValue": ""},
        "eventTimestamp": when,
        "submissionTimestamp": when,
        "subscriptionId": subscription,
    }
