"""outagewatch.detect"""
