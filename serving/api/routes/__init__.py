"""Thin routers: read dependencies, call one function, return its model."""
