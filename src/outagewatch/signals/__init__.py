"""outagewatch.signals"""
