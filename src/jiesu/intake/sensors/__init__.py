"""Sensor alarms (网格化管理): rules and sensors, one alarm → one dispatched work order.

Modules: ``message`` reads a payload, ``registry`` loads the rules/sensors file, ``routing``
finds the responsible unit, ``service`` turns an alarm into an order, ``repository`` holds the
queries, ``broker`` speaks MQTT, ``listener`` consumes the topic, ``cli`` is ``jiesu sensors``.
"""
