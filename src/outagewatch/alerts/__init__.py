"""outagewatch.alerts"""
