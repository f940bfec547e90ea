#!/usr/bin/python3
"""Print gesture events from primusd. Usage: subscribe.py [ENDPOINT] [TOPIC-PREFIX]"""
import json, sys, zmq

sock = zmq.Context().socket(zmq.SUB)
sock.connect(sys.argv[1] if len(sys.argv) > 1 else "ipc:///run/primusd/events.sock")
sock.setsockopt_string(zmq.SUBSCRIBE, sys.argv[2] if len(sys.argv) > 2 else "gesture.")
while True:
    topic, body = sock.recv_multipart()
    event = json.loads(body)
    print(topic.decode(), event.get("label", ""), event.get("confidence", ""), json.dumps(event))
