"""The GreenNet energy-monitoring smart plug integration."""
