"""What a user creates on AWS so ``events collect aws`` has something to read.

Nothing here calls AWS: :func:`aws_setup` returns the documents and
:func:`aws_cli_snippet` the AWS CLI commands that create them (``events setup aws
--print``). The pieces: an EventBridge rule on the default bus matching the EC2 spot
interruption warnings, rebalance recommendations and stop/terminate state changes; an
SQS queue with a dead-letter queue (poison messages end there) and a policy letting
that rule send to it; an IAM policy for whoever runs the collector.
"""

from __future__ import annotations

import json
from typing import Any

from spotadvisor.errors import UsageError
from spotadvisor.events.parse import REBALANCE, SPOT_WARNING, STATE_CHANGE

STOP_STATES = ["stopping", "stopped", "shutting-down", "terminated"]
MAX_RECEIVE_COUNT = 5
#: the account id printed when none is given (AWS's documentation placeholder)
PLACEHOLDER_ACCOUNT = "123456789012"


def check_account(account: str) -> str:
    """``account`` if it is an AWS account id (12 digits).

    Raises
    ------
    UsageError
        Naming ``--account`` and the fix.
    """
    value = account.strip()
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise UsageError(
            f"{account!r} is not an AWS account id (12 digits)",
            field="--account",
            fix="pass --account with your 12-digit account id "
            "('aws sts get-caller-identity --query Account --output text' prints it)",
        )
    return value


def aws_setup(
    *,
    region: str,
    account: str,
    queue: str = "spotadvisor-events",
    rule: str = "spotadvisor-ec2-events",
) -> dict[str, Any]:
    """The EventBridge rule, queue attributes and policies as JSON-ready objects."""
    queue_arn = f"arn:aws:sqs:{region}:{account}:{queue}"
    dlq_arn = f"{queue_arn}-dlq"
    rule_arn = f"arn:aws:events:{region}:{account}:rule/{rule}"
    pattern = {
        "source": ["aws.ec2"],
        "$or": [
            {"detail-type": [SPOT_WARNING, REBALANCE]},
            {"detail-type": [STATE_CHANGE], "detail": {"state": STOP_STATES}},
        ],
    }
    queue_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EventBridgeSendsEc2Events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
    collector_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsumeEvents",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": queue_arn,
            },
            {
                "Sid": "NameInstanceTypes",
                "Effect": "Allow",
                "Action": "ec2:DescribeInstances",
                "Resource": "*",
            },
        ],
    }
    return {
        "region": region,
        "rule": {"Name": rule, "EventBusName": "default", "EventPattern": pattern},
        "target": {"Rule": rule, "Id": "spotadvisor-sqs", "Arn": queue_arn},
        "queue": {
            "QueueName": queue,
            "Arn": queue_arn,
            "Attributes": {
                "Policy": queue_policy,
                "RedrivePolicy": {
                    "deadLetterTargetArn": dlq_arn,
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
                "ReceiveMessageWaitTimeSeconds": 20,
                "MessageRetentionPeriod": 1209600,
            },
        },
        "dead_letter_queue": {"QueueName": f"{queue}-dlq", "Arn": dlq_arn},
        "collector_policy": collector_policy,
    }


def aws_cli_snippet(setup: dict[str, Any]) -> str:
    """AWS CLI commands that create what :func:`aws_setup` describes (bash)."""
    region = setup["region"]
    queue = setup["queue"]
    attrs = {
        k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in queue["Attributes"].items()
    }
    url = f"$(aws sqs get-queue-url --region {region} --queue-name {queue['QueueName']} --query QueueUrl --output text)"
    return "\n".join(
        [
            "# 1. the dead-letter queue, then the queue (policy + redrive)",
            f"aws sqs create-queue --region {region} --queue-name {setup['dead_letter_queue']['QueueName']}",
            f"aws sqs create-queue --region {region} --queue-name {queue['QueueName']} \\",
            f"  --attributes '{json.dumps(attrs)}'",
            "# 2. the EventBridge rule and its target",
            f"aws events put-rule --region {region} --name {setup['rule']['Name']} \\",
            f"  --event-pattern '{json.dumps(setup['rule']['EventPattern'])}'",
            f"aws events put-targets --region {region} --rule {setup['rule']['Name']} \\",
            f"  --targets Id={setup['target']['Id']},Arn={queue['Arn']}",
            "# 3. the collector's IAM policy (attach it to the role or user that runs spotadvisor)",
            "aws iam create-policy --policy-name spotadvisor-events-collector \\",
            f"  --policy-document '{json.dumps(setup['collector_policy'])}'",
            "# 4. collect",
            f"spotadvisor events collect aws --sqs-queue-url {url}",
            "",
        ]
    )
