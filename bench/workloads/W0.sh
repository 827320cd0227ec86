#!/bin/sh
# W0: an empty session: the cost of starting and ending the tool.
# Usage: W0.sh TREE OUT
true
