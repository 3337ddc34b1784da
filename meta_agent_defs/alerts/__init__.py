"""Health, circuit breakers and alerts: sensors that raise, a job that delivers, the digest and the fleet view."""
