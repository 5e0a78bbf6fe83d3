"""outagewatch.engine"""
