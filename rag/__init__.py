"""政策问答助手: cited answers over Fujian county key-industrial-chain policy documents."""

__version__ = "0.1.0"
