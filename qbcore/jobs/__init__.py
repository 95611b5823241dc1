"""Bulk work as jobs: the queue (queue.py), the company lease (lease.py), the worker (worker.py), the scheduler."""
