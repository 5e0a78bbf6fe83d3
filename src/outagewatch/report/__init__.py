"""outagewatch.report"""
