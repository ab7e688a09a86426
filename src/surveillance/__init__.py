"""Market-abuse surveillance without labels.

The core package is pure: it never imports AWS libraries (boto3, sagemaker,
aws_lambda_powertools, aws_cdk). Entry folders at the repository root adapt it to
SageMaker, Lambda and the CDK.
"""

__version__ = "0.1.0"
