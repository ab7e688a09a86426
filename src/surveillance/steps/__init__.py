"""Pipeline steps as plain functions: inputs and outputs are locations, parameters are typed.

The local runner, the CLI and the SageMaker job entry points all call these.
"""
