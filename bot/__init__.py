"""kubecamp-bot: Kubernetes break-fix challenges and incident threads for bootcamp classes."""
